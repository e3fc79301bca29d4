import numpy as np


def f(a, b, c):
    return -a**3 + np.sin(3*b) - 1.0/c + b**2.5 - a**0.5


def gradf(a, b, c):
    # partial derivatives, one per input
    return np.array([
        -3*a**2 - 1/(2*np.sqrt(a)),
        3*np.cos(3*b) + (5/2)*b**(3/2),
        c**-2,
    ])


def forward_difference(f, x, h=1e-6):
    fx = f(x)
    fxh = f(x + h)
    return (fxh - fx) / h


def symmetric_difference(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2*h)


if __name__ == "__main__":
    print(gradf(2, 3, 4))
