"""Exercises 2 and 3: the derivative estimated from values of f alone.

The derivative is the limit of a difference quotient as the step h shrinks. With a small but
finite h you get an estimate, and how fast its error shrinks with h tells two formulas apart:

    forward difference     (f(x + h) - f(x)) / h              error about h      (order 1)
    symmetric difference   (f(x + h) - f(x - h)) / (2*h)      error about h**2   (order 2)

Halve h: the forward difference's error halves, the symmetric difference's drops four times.
(Far below h = 1e-5, rounding errors take over: try it with gradcli compare --sweep.)

Each function takes a float function f, a point x and a step h, and returns a float.

Check them:  gradcli check derivatives.py
"""


def forward_difference(f, x, h):
    """Exercise 2: estimate f'(x) as (f(x + h) - f(x)) / h."""
    raise NotImplementedError("return the forward difference quotient")


def symmetric_difference(f, x, h):
    """Exercise 3: estimate f'(x) as (f(x + h) - f(x - h)) / (2*h)."""
    raise NotImplementedError("return the symmetric difference quotient")
