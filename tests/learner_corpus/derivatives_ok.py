"""Correct finite differences, as a learner writes them."""


def forward_difference(f, x, h):
    return (f(x + h) - f(x)) / h


def backward_difference(f, x, h):
    return (f(x) - f(x - h)) / h


def symmetric_difference(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)
