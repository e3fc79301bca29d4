import math


class Value:
    """Like micrograd but the derivative is called .gradient (clearer for me)."""

    def __init__(self, data, children=(), op=""):
        self.data = data
        self.gradient = 0.0
        self.children = children
        self.op = op
        self.backward_fn = None

    def __repr__(self):
        return f"Value(data={self.data}, gradient={self.gradient})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def backward_fn():
            self.gradient += out.gradient
            other.gradient += out.gradient

        out.backward_fn = backward_fn
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def backward_fn():
            self.gradient += other.data * out.gradient
            other.gradient += self.data * out.gradient

        out.backward_fn = backward_fn
        return out

    def __pow__(self, n):
        out = Value(self.data**n, (self,), "**")

        def backward_fn():
            self.gradient += n * self.data ** (n - 1) * out.gradient

        out.backward_fn = backward_fn
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def backward_fn():
            self.gradient += out.data * out.gradient

        out.backward_fn = backward_fn
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def backward_fn():
            self.gradient += (1 - t**2) * out.gradient

        out.backward_fn = backward_fn
        return out

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

    def zero_grad(self):
        for node in self._topo():
            node.gradient = 0.0

    def _topo(self):
        order, seen = [], set()

        def go(v):
            if v not in seen:
                seen.add(v)
                for c in v.children:
                    go(c)
                order.append(v)

        go(self)
        return order

    def backward(self):
        order = self._topo()
        self.gradient = 1.0
        for v in reversed(order):
            if v.backward_fn is not None:
                v.backward_fn()
