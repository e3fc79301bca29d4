"""Exercise 4: a Value class with backward(), as in the micrograd lecture.

A Value holds a number (data) and, after backward(), the derivative of the final output with
respect to it (grad). Each operation makes a new Value that remembers its inputs (_prev), the
operation (_op) and a function _backward that passes the gradient down one step, by the chain
rule: each input's grad GROWS BY (the local derivative) * out.grad. Use +=, not =: a Value used
twice (a * a) must receive both contributions.

    a + b   local derivatives 1 and 1
    a * b   b (for a) and a (for b)
    a ** n  n * a**(n-1)   (n a plain number)
    exp(a)  exp(a), that is out.data
    log(a)  1/a
    tanh(a) 1 - tanh(a)**2, that is 1 - out.data**2
    relu(a) 1 if a > 0 else 0

The rest can be built from those, as the lecture does: -a is a * -1, a - b is a + (-b),
a / b is a * b**-1. Numbers must work on either side (a + 1, 2 * a, sum([...])): wrap a plain
number in a Value, and write the reflected operators (__radd__, __rmul__, ...).

backward() orders the nodes so that each comes after every node it depends on (a topological
sort), sets the output's grad to 1, and calls _backward on each node from the output back.

Check it (against gradcli, and PyTorch when installed):  gradcli check value.py
"""

import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None  # passes out.grad down to the inputs; set by each op
        self._prev = set(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):  # self + other
        raise NotImplementedError("make out = Value(self.data + other.data, (self, other), '+')")

    def __mul__(self, other):  # self * other
        raise NotImplementedError("like __add__, with the product rule in _backward")

    def __pow__(self, other):  # self ** other, other a plain int or float
        raise NotImplementedError("the power rule: n * x**(n-1)")

    def exp(self):
        raise NotImplementedError("use math.exp; the derivative of exp is exp itself")

    def log(self):
        raise NotImplementedError("use math.log; the derivative of log(x) is 1/x")

    def tanh(self):
        raise NotImplementedError("use math.tanh; the derivative is 1 - tanh(x)**2")

    def relu(self):
        raise NotImplementedError("max(0, x); the derivative is 1 for x > 0, else 0")

    def __neg__(self):  # -self
        raise NotImplementedError("-self is self * -1")

    def __sub__(self, other):  # self - other
        raise NotImplementedError("self - other is self + (-other)")

    def __truediv__(self, other):  # self / other
        raise NotImplementedError("self / other is self * other**-1")

    def __radd__(self, other):  # other + self, e.g. 1 + a and sum([...])
        raise NotImplementedError("addition does not care about the order")

    def __rmul__(self, other):  # other * self, e.g. 2 * a
        raise NotImplementedError("multiplication does not care about the order")

    def __rsub__(self, other):  # other - self, e.g. 1 - a
        raise NotImplementedError("other - self is other + (-self)")

    def __rtruediv__(self, other):  # other / self, e.g. 1 / a
        raise NotImplementedError("other / self is other * self**-1")

    def backward(self):
        raise NotImplementedError(
            "sort the nodes topologically, set self.grad = 1, call _backward from the output back"
        )
