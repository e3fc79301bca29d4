# here is a mathematical expression that takes 3 inputs and produces one output
from math import sin, cos


def f(a, b, c):
    return -a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5


print(f(2, 3, 4))


# write the function df that returns the analytical gradient of f
def gradf(a, b, c):
    df_da = -3 * a**2 - 0.5 * a**-0.5
    df_db = 3 * cos(3 * b) + 2.5 * b**1.5
    df_dc = 1.0 / c**2
    return [df_da, df_db, df_dc]  # todo, return [df/da, df/db, df/dc]


# expected answer is the list of
ans = [-12.353553390593273, 10.25699027111255, 0.0625]
yours = gradf(2, 3, 4)
for dim in range(3):
    ok = 'OK' if abs(yours[dim] - ans[dim]) < 1e-5 else 'WRONG!'
    print(f"{ok} for dim {dim}: expected {ans[dim]}, yours returns {yours[dim]}")


def forward_difference(f, x, h):
    return (f(x + h) - f(x)) / h


def symmetric_difference(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


h = 0.000001
numerical_grad = [
    forward_difference(lambda a: f(a, 3, 4), 2, h),
    forward_difference(lambda b: f(2, b, 4), 3, h),
    forward_difference(lambda c: f(2, 3, c), 4, h),
]
for dim in range(3):
    ok = 'OK' if abs(numerical_grad[dim] - ans[dim]) < 1e-5 else 'WRONG!'
    print(f"{ok} for dim {dim}: expected {ans[dim]}, yours returns {numerical_grad[dim]}")
