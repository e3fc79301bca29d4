# autodiff without a topological sort: every node pushes the gradient it
# receives down to its parents, along every path (slow on deep shared graphs,
# but the sums come out right because each path's contribution is added).
import math


class Var:
    def __init__(self, value, parents=(), grad_fn=None):
        self.value = value
        self.parents = parents
        self.grad_fn = grad_fn  # upstream grad -> tuple of grads for parents
        self.grad = 0.0

    def __repr__(self):
        return f"Var({self.value})"

    def __add__(self, other):
        other = other if isinstance(other, Var) else Var(other)
        return Var(self.value + other.value, (self, other), lambda g: (g, g))

    def __mul__(self, other):
        other = other if isinstance(other, Var) else Var(other)
        return Var(self.value * other.value, (self, other),
                   lambda g: (g * other.value, g * self.value))

    def __pow__(self, n):
        return Var(self.value ** n, (self,), lambda g: (g * n * self.value ** (n - 1),))

    __radd__ = __add__
    __rmul__ = __mul__

    def __neg__(self):
        return Var(-self.value, (self,), lambda g: (-g,))

    def __sub__(self, other):
        return self + (-other if isinstance(other, Var) else Var(-other))

    def __truediv__(self, other):
        return self * other ** -1

    def tanh(self):
        t = math.tanh(self.value)
        return Var(t, (self,), lambda g: (g * (1 - t * t),))

    def exp(self):
        e = math.exp(self.value)
        return Var(e, (self,), lambda g: (g * e,))

    def backward(self, grad=1.0):
        self.grad += grad
        if self.grad_fn is not None:
            for parent, g in zip(self.parents, self.grad_fn(grad)):
                parent.backward(g)
