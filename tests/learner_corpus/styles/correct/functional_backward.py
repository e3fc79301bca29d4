import math


def topological_order(root):
    order, seen = [], set()

    def visit(v):
        if v in seen:
            return
        seen.add(v)
        for u in v._prev:
            visit(u)
        order.append(v)

    visit(root)
    return order


def backward(root):
    """Reverse-mode pass as a plain function; Value.backward calls it."""
    order = topological_order(root)
    root.grad = 1.0
    for v in reversed(order):
        v._backward()


def make(data, children, op, local_grads):
    """A node whose _backward applies the local derivatives (chain rule)."""
    out = Value(data, children, op)

    def _backward():
        for child, local in zip(children, local_grads):
            child.grad += local * out.grad

    out._backward = _backward
    return out


class Value:
    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._prev = _children
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return make(self.data + other.data, (self, other), '+', (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return make(self.data * other.data, (self, other), '*', (other.data, self.data))

    def __pow__(self, n):
        return make(self.data ** n, (self,), '**', (n * self.data ** (n - 1),))

    def exp(self):
        e = math.exp(self.data)
        return make(e, (self,), 'exp', (e,))

    def log(self):
        return make(math.log(self.data), (self,), 'log', (1 / self.data,))

    def tanh(self):
        t = math.tanh(self.data)
        return make(t, (self,), 'tanh', (1 - t * t,))

    def relu(self):
        return make(max(0, self.data), (self,), 'relu', (1.0 if self.data > 0 else 0.0,))

    def __radd__(self, other): return self + other
    def __rmul__(self, other): return self * other
    def __neg__(self): return self * -1
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return -self + other
    def __truediv__(self, other): return self * other ** -1
    def __rtruediv__(self, other): return other * self ** -1

    def backward(self):
        backward(self)
