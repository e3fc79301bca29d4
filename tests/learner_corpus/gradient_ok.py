"""The exercise's gradient, by hand."""

import math


def gradf(a, b, c):
    dfda = -3 * a**2 - 0.5 * a**-0.5
    dfdb = 3 * math.cos(3 * b) + 2.5 * b**1.5
    dfdc = 1 / c**2
    return [dfda, dfdb, dfdc]
