"""Exercise 1 in as few lines as I could."""
import math

f = lambda a, b, c: -a**3 + math.sin(3*b) - 1.0/c + b**2.5 - a**0.5

gradf = lambda a, b, c: [
    -3*a*a - 0.5/math.sqrt(a),
    3*math.cos(3*b) + 2.5*b*math.sqrt(b),
    1/(c*c),
]

forward_difference = lambda f, x, h: (f(x + h) - f(x)) / h
symmetric_difference = lambda f, x, h: (f(x + h) - f(x - h)) / (h + h)
