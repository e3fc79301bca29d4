"""sympy expression building and the 50-digit reference, against sympy's own evalf."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from gradcli import reference
from gradcli.parse import parse

CASES = [
    ("-a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5", {"a": 2.0, "b": 3.0, "c": 4.0}),
    ("sigmoid(x) * tanh(y) + atan(x*y)", {"x": 0.3, "y": -1.2}),
    ("relu(x - 1) + abs(y) + x**y", {"x": 2.5, "y": -0.5}),
    ("logsumexp(a, b, c) - c", {"a": 1000.0, "b": 1001.0, "c": 1002.0}),
    ("asin(x) + acos(x/2) + sinh(x) * cosh(x) + tan(x)", {"x": 0.4}),
]


@pytest.mark.parametrize(("text", "point"), CASES, ids=[c[0] for c in CASES])
def test_reference_exact_gradient_matches_sympy_evalf(text, point):
    e = parse(text)
    sym = reference.symbolic(e)
    exact = reference.exact_gradient(e, point, sym)
    subs = {sym.symbols[n]: sp.Float(v, 60) for n, v in point.items()}
    for name, d in sym.derivatives.items():
        with mpmath.workdps(60):
            ref = mpmath.mpf(str(d.evalf(60, subs=subs)))
            assert abs(exact[name] - ref) <= mpmath.mpf(10) ** -45 * max(1, abs(ref)), name


def test_reference_symbols_are_real():
    expr, symbols = reference.to_sympy(parse("sqrt(x**2)"))
    assert expr == sp.Abs(symbols["x"])


def test_reference_relu_derivative_is_zero_at_kink():
    e = parse("relu(x)")
    assert float(reference.exact_gradient(e, {"x": 0.0})["x"]) == 0.0


def test_reference_large_expressions_are_flagged():
    big = parse("+".join(f"sin({k}*x)" for k in range(1, 1500)))
    assert reference.too_large(big)
    assert not reference.too_large(parse("x**2"))


@pytest.mark.parametrize("x", [-1.0, -0.25, 0.5])
def test_reference_nested_piecewise_conditions(x):
    # relu(0.5 + relu(x)) differentiates to a Piecewise whose condition is an ITE (found by the
    # property tests); hand-checked: the derivative is 1 for x > 0 and 0 otherwise.
    e = parse("0.5 + relu(0.5 + relu(x))")
    assert float(reference.exact_gradient(e, {"x": x})["x"]) == (1.0 if x > 0 else 0.0)
