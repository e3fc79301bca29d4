import math


class Value:
    """One _backward method for every node: it looks at self._op to know the rule."""

    def __init__(self, data, _children=None, _op=None):
        self.data = data
        self.grad = 0.0
        self._children = list(_children) if _children else []
        self._op = _op
        self._power = None

    def __repr__(self):
        return "Value(data=%s, grad=%s, op=%s)" % (self.data, self.grad, self._op)

    def __add__(self, other):
        if not isinstance(other, Value):
            other = Value(other)
        return Value(self.data + other.data, [self, other], "add")

    def __mul__(self, other):
        if not isinstance(other, Value):
            other = Value(other)
        return Value(self.data * other.data, [self, other], "mul")

    def __pow__(self, power):
        out = Value(self.data**power, [self], "pow")
        out._power = power
        return out

    def tanh(self):
        return Value(math.tanh(self.data), [self], "tanh")

    def exp(self):
        return Value(math.exp(self.data), [self], "exp")

    def relu(self):
        return Value(max(self.data, 0), [self], "relu")

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def _backward(self):
        if self._op == "add":
            a, b = self._children
            a.grad += self.grad
            b.grad += self.grad
        elif self._op == "mul":
            a, b = self._children
            a.grad += b.data * self.grad
            b.grad += a.data * self.grad
        elif self._op == "pow":
            (a,) = self._children
            a.grad += self._power * a.data ** (self._power - 1) * self.grad
        elif self._op == "tanh":
            (a,) = self._children
            a.grad += (1 - self.data**2) * self.grad
        elif self._op == "exp":
            (a,) = self._children
            a.grad += self.data * self.grad
        elif self._op == "relu":
            (a,) = self._children
            a.grad += (self.data > 0) * self.grad
        elif self._op is None:
            pass  # leaf
        else:
            raise ValueError("unknown op " + str(self._op))

    def backward(self):
        topo = []
        visited = []

        def build_topo(v):
            if not any(v is w for w in visited):
                visited.append(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
