import math


class Node:
    def __init__(self, value, parents=(), op=""):
        self.value = value
        self.grad = 0.0
        self.parents = list(parents)
        self.op = op
        self._backprop = lambda: None

    def __repr__(self):
        return f"Node(value={self.value:.4f}, grad={self.grad:.4f})"

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        result = Node(self.value + other.value, [self, other], "+")

        def _backprop():
            self.grad += result.grad
            other.grad += result.grad

        result._backprop = _backprop
        return result

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        result = Node(self.value * other.value, [self, other], "*")

        def _backprop():
            self.grad += other.value * result.grad
            other.grad += self.value * result.grad

        result._backprop = _backprop
        return result

    def __pow__(self, exponent):
        result = Node(self.value**exponent, [self], f"^{exponent}")

        def _backprop():
            self.grad += exponent * self.value ** (exponent - 1) * result.grad

        result._backprop = _backprop
        return result

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def relu(self):
        result = Node(max(0.0, self.value), [self], "relu")

        def _backprop():
            self.grad += result.grad

        result._backprop = _backprop
        return result

    def tanh(self):
        t = math.tanh(self.value)
        result = Node(t, [self], "tanh")

        def _backprop():
            self.grad += (1 - t**2) * result.grad

        result._backprop = _backprop
        return result

    def exp(self):
        e = math.exp(self.value)
        result = Node(e, [self], "exp")

        def _backprop():
            self.grad += e * result.grad

        result._backprop = _backprop
        return result

    def backprop(self):
        ordered, visited = [], set()

        def dfs(node):
            if node not in visited:
                visited.add(node)
                for parent in node.parents:
                    dfs(parent)
                ordered.append(node)

        dfs(self)
        self.grad = 1.0
        for node in reversed(ordered):
            node._backprop()
