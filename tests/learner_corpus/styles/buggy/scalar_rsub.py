"""Scalar: my own micrograd. The inputs of an op are kept in `operands`,
and backward() sorts the graph with an explicit stack instead of recursion."""

import math


class Scalar:
    def __init__(self, data, operands=(), op=None):
        self.data = data
        self.grad = 0.0
        self.operands = operands
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Scalar({self.data})"

    @staticmethod
    def ensure(x):
        return x if isinstance(x, Scalar) else Scalar(x)

    def __add__(self, other):
        other = Scalar.ensure(other)
        out = Scalar(self.data + other.data, (self, other), "add")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Scalar.ensure(other)
        out = Scalar(self.data * other.data, (self, other), "mul")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, p):
        out = Scalar(self.data**p, (self,), "pow")

        def _backward():
            self.grad += p * self.data ** (p - 1) * out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return -1 * self

    def __sub__(self, other):
        return self + (-1 * Scalar.ensure(other))

    def __rsub__(self, other):
        return self - Scalar.ensure(other)

    def __truediv__(self, other):
        return self * Scalar.ensure(other) ** -1

    def __rtruediv__(self, other):
        return Scalar.ensure(other) * self**-1

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data))
        out = Scalar(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Scalar(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = Scalar(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def backward(self):
        # iterative post-order DFS
        topo = []
        visited = set()
        stack = [(self, iter(self.operands))]
        visited.add(self)
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in visited:
                    visited.add(child)
                    stack.append((child, iter(child.operands)))
                    break
            else:
                stack.pop()
                topo.append(node)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
