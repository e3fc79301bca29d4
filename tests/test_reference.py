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


def _nested(template: str, depth: int) -> str:
    text = "x"
    for _ in range(depth):
        text = template.format(text)
    return text


def test_reference_deep_nesting_is_refused_before_sympy_recurses():
    from gradcli.reference import MAX_NESTING, SymbolicUnavailable, nesting, symbolic

    deep = parse(_nested("sigmoid({})", 60))
    assert nesting(deep) == 60
    with pytest.raises(SymbolicUnavailable, match="nested 60 levels"):
        symbolic(deep)
    assert nesting(parse("sin(x) + exp(x)*x - x/2")) == 1
    assert nesting(parse("+".join(["x"] * 500))) == 0  # a long sum is wide, not deep
    symbolic(parse(_nested("sin({})", MAX_NESTING)))  # at the limit sympy still copes


@pytest.mark.parametrize(
    "template", ["sigmoid({})", "tanh(0.5*{} + 0.1)", "softplus({} - 1)"], ids=str
)
def test_reference_sixty_nested_functions_give_the_right_gradient(template: str, cli):
    # reverse mode and the 50-digit reverse pass against mpmath's own numerical derivative of
    # the nested function at 60 digits
    import mpmath

    from gradcli.evaluate import build
    from gradcli.ops import OPS
    from gradcli.reference import exact

    text = _nested(template, 60)
    expression = parse(text)
    point = {"x": 0.5}

    def f(t):
        v = t
        for _ in range(60):
            if template.startswith("sigmoid"):
                v = 1 / (1 + mpmath.exp(-v))
            elif template.startswith("tanh"):
                v = mpmath.tanh(0.5 * v + 0.1)
            else:
                v = OPS["softplus"].mpmath(mpmath, v - 1)
        return v

    with mpmath.workdps(60):
        want = mpmath.diff(f, mpmath.mpf(0.5))
    got = build(expression, point).gradient["x"]
    assert got == pytest.approx(float(want), rel=1e-12)
    ref = exact(expression, point)
    assert ref.symbolic is None and "nested 60 levels" in (ref.skipped or "")
    with mpmath.workdps(50):
        assert abs(ref.values["x"] - want) <= mpmath.mpf(10) ** -25 * abs(want)  # diff's own error
    for command in ("grad", "compare", "graph", "explain", "verify-torch"):
        r = cli(command, text, "--at", "x=0.5", "--json")
        assert r.code == 0, (command, r.stderr)
