"""Exercise 1: the gradient by hand.

    f(a, b, c) = -a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5

Work out the three partial derivatives df/da, df/db and df/dc with pen and paper, then write
them in gradf below. What you need: the power rule, d(x**n)/dx = n*x**(n-1) (it holds for
n = 2.5, n = 0.5 and n = -1 too: 1.0/c is c**-1), and the chain rule for sin(3*b): the
derivative of sin(u) is cos(u) times the derivative of the inside, u = 3*b.

Each partial derivative treats the other variables as constants: in df/da, b and c are numbers.

Check it:  gradcli check gradient.py
"""

import math


def f(a, b, c):
    """The exercise's function (you do not need to change it)."""
    return -(a**3) + math.sin(3 * b) - 1.0 / c + b**2.5 - a**0.5


def gradf(a, b, c):
    """Return [df/da, df/db, df/dc] at (a, b, c), worked out by hand (not a numerical estimate).

    At a=2, b=3, c=4 you can compare with gradcli: gradcli grad (its built-in example is f).
    """
    raise NotImplementedError("work out df/da, df/db and df/dc, then return them as a list")
