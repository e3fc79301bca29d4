"""Points, domains and overflow: nothing returns NaN or inf silently."""

from __future__ import annotations

import math

import pytest

from gradcli.errors import DomainError, PointError
from gradcli.evaluate import build
from gradcli.parse import parse


def test_evaluate_classic_example_against_hand_derivation():
    ev = build(parse("-a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5"), {"a": 2, "b": 3, "c": 4})
    a, b, c = 2.0, 3.0, 4.0
    assert ev.value == pytest.approx(-(a**3) + math.sin(3 * b) - 1 / c + b**2.5 - a**0.5, rel=1e-15)
    assert ev.gradient["a"] == pytest.approx(-3 * a**2 - 0.5 * a**-0.5, rel=1e-15)
    assert ev.gradient["b"] == pytest.approx(3 * math.cos(3 * b) + 2.5 * b**1.5, rel=1e-15)
    assert ev.gradient["c"] == pytest.approx(1 / c**2, rel=1e-15)


def test_evaluate_graph_is_as_written():
    ev = build(parse("x*x + x*x"), {"x": 3})
    assert ev.output._op == "add"
    assert [c._op for c in ev.output._prev] == ["mul", "mul"]
    assert ev.gradient == {"x": 12.0}


@pytest.mark.parametrize(
    ("text", "point", "message"),
    [
        ("log(x - 2)", {"x": 1}, "log(x - 2) is undefined at this point: log needs a positive"),
        ("log(x)", {"x": 0}, "log needs a positive argument"),
        ("1/(x - 1)", {"x": 1}, "division by zero (here x - 1 = 0)"),
        ("sqrt(x)", {"x": -1}, "sqrt(x) is undefined"),
        ("sqrt(x)", {"x": 0}, "the derivative of sqrt(x) is infinite"),
        ("x**0.5", {"x": -4}, "fractional power of a negative number"),
        ("x**1.5", {"x": -4}, "fractional power of a negative number"),
        ("asin(x)", {"x": 1.5}, "asin needs an argument in [-1, 1]"),
        ("acos(2*x)", {"x": 1}, "acos(2*x) is undefined"),
        ("exp(x)", {"x": 1000}, "exp(x) overflows at this point (here x = 1000)"),
        ("x*y", {"x": 1e200, "y": 1e200}, "x*y overflows"),
        ("x**y", {"x": -2, "y": 2}, "positive base"),
        ("x**2", {"x": 1e200}, "x**2 overflows at this point"),
    ],
)
def test_evaluate_domain_errors_name_the_subexpression(text, point, message):
    with pytest.raises(DomainError) as info:
        build(parse(text), point)
    assert message in info.value.one_line()


def test_evaluate_gradient_overflow_is_an_error():
    # the value stays finite (|sin| <= 1), the derivative 1e300 * 1e10 * cos(...) does not
    with pytest.raises(DomainError, match="derivative with respect to x overflows"):
        build(parse("1e300*sin(1e10*x)"), {"x": 0.0})


def test_evaluate_inner_gradient_overflow_is_an_error():
    # x's gradient is fine (1e200), but the constant 1e-200's is 1e400: graph/explain show it
    with pytest.raises(DomainError, match="overflows"):
        build(parse("x*1e200*1e-200*1e200"), {"x": 1.0})


def test_evaluate_constants_pi_and_e_are_the_doubles():
    # sympy would say sin(pi) = 0 and x/sin(pi) is undefined; the float function is defined,
    # and the reference is the derivative of the function actually computed.
    from gradcli import reference

    e = parse("x/sin(pi)")
    ev = build(e, {"x": 2.0})
    exact = reference.exact_gradient(e, {"x": 2.0})["x"]
    assert ev.gradient["x"] == pytest.approx(1 / math.sin(math.pi), rel=1e-15)
    assert float(exact) == pytest.approx(1 / math.sin(math.pi), rel=1e-15)


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"x": 1}, "no value given for variable 'y'"),
        ({}, "no value given for variables 'x', 'y'"),
        ({"x": 1, "y": 2, "z": 3}, "variable 'z', which the expression does not use"),
        ({"x": math.nan, "y": 1}, "not a finite number"),
        ({"x": math.inf, "y": 1}, "not a finite number"),
    ],
)
def test_evaluate_point_errors(point, message):
    with pytest.raises(PointError) as info:
        build(parse("x*y"), point)
    assert message in info.value.one_line()


def test_evaluate_relu_abs_kinks_follow_pytorch_convention():
    ev = build(parse("relu(x) + abs(y)"), {"x": 0, "y": 0})
    assert ev.gradient == {"x": 0.0, "y": 0.0}


@pytest.mark.parametrize(
    ("text", "value", "grad"),
    [
        ("x*acos(-1)", 2 * math.pi, math.pi),  # acos'(-1) is infinite, but acos(-1) is a constant
        ("x*asin(1)", math.pi, math.pi / 2),
        ("x + sqrt(0)", 2.0, 1.0),
        ("x*(2*3)", 12.0, 6.0),
    ],
)
def test_evaluate_constant_subexpressions_are_leaves(text, value, grad):
    ev = build(parse(text), {"x": 2.0})
    assert ev.value == pytest.approx(value, rel=1e-15)
    assert ev.gradient["x"] == pytest.approx(grad, rel=1e-15)


def test_evaluate_error_names_a_repeated_argument_once():
    with pytest.raises(DomainError) as info:
        build(parse("x*x"), {"x": 1e200})
    assert info.value.one_line().count("x = 1e+200") == 1


def test_evaluate_constant_given_as_a_point_is_refused():
    with pytest.raises(PointError, match="'pi' is a constant"):
        build(parse("pi*x"), {"x": 1.0, "pi": 3.0})
