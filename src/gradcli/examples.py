"""The built-in example every expression command runs when given no expression."""

#: the classic micrograd exercise
EXAMPLE_EXPR = "-a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5"
EXAMPLE_POINT = {"a": 2.0, "b": 3.0, "c": 4.0}
EXAMPLE_NOTE = "built-in example: the classic micrograd exercise f(a, b, c) at a=2, b=3, c=4"
