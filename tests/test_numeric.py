"""Numerical estimates (gradcli.numeric) against independent references: sympy's exact
derivative evaluated with mpmath, plain-Python recomputations of each formula, and
hand-checked numbers."""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp

from gradcli import numeric, reference
from gradcli.expr import Expression, Node
from gradcli.ops import OPS
from gradcli.parse import parse

EXAMPLE = "-a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5"
POINT = {"a": 2.0, "b": 3.0, "c": 4.0}


def example_f(a: float, b: float, c: float) -> float:
    return -(a**3) + math.sin(3 * b) - 1.0 / c + b**2.5 - a**0.5


def example_exact() -> dict[str, float]:
    """sympy's derivative of the example, written out by hand here, at 40 digits."""
    a, b, c = sp.symbols("a b c", real=True)
    f = -(a**3) + sp.sin(3 * b) - 1 / c + b ** sp.Rational(5, 2) - sp.sqrt(a)
    subs = {a: 2, b: 3, c: 4}
    return {str(s): float(sp.diff(f, s).subs(subs).evalf(40)) for s in (a, b, c)}


def op_expression(name: str) -> tuple[Expression, dict[str, float]]:
    """``op(x0, x1, ...)`` as a tree, at the op table's first sample point away from a kink."""
    op = OPS[name]
    sample = next(s for s in op.samples if op.kink is None or op.kink(*s) is None)
    nargs = len(sample) - len(op.params)
    names = [f"x{i}" for i in range(nargs)]
    args = tuple(Node("var", n) for n in names)
    root = Node("op", name, args, tuple(sample[nargs:]))
    point = dict(zip(names, sample[:nargs], strict=True))
    return Expression(text=name, root=root, variables=names), point


def sympy_gradient(expr: Expression, point: dict[str, float]) -> dict[str, float]:
    e, symbols = reference.to_sympy(expr)
    subs = {symbols[n]: sp.Float(v, 40) for n, v in point.items()}
    return {n: float(sp.diff(e, s).subs(subs).evalf(40)) for n, s in symbols.items()}


# ---- the compiled function ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPS), ids=list(OPS))
def test_numeric_compile_numpy_matches_mpmath(name):
    expr, point = op_expression(name)
    f = numeric.compile_numpy(expr)
    e, symbols = reference.to_sympy(expr)
    exact = reference.evaluate(e, point, symbols)
    got = f(*[np.array([point[n]]) for n in expr.variables])
    assert got.shape == (1,)
    assert abs(got[0] - float(exact)) <= 4e-16 * max(1.0, abs(float(exact)))


@pytest.mark.parametrize("name", list(OPS), ids=list(OPS))
def test_numeric_complex_step_per_op(name):
    expr, point = op_expression(name)
    want = sympy_gradient(expr, point)
    report = numeric.compare(expr, point, methods=["complex_step"])
    m = report.methods["complex_step"]
    # away from a kink every op's numpy counterpart is analytic (the branch at the point)
    assert m.applicable, m.note
    for n, w in want.items():
        est = m.estimate[n]
        assert est is not None
        assert abs(est - w) <= 4e-15 * max(1.0, abs(w)), (n, est, w)


@pytest.mark.parametrize("name", list(OPS), ids=list(OPS))
def test_numeric_mp_gradient_matches_sympy(name):
    expr, point = op_expression(name)
    exact = reference.exact_gradient(expr, point)
    got = reference.mp_gradient(expr, point)
    with mpmath.workdps(50):
        for n in expr.variables:
            assert abs(got[n] - exact[n]) <= mpmath.mpf(10) ** -45 * max(1, abs(exact[n]))


def test_numeric_compile_numpy_shared_and_constant_subtrees():
    expr = parse("x*x + 2**3 + log(x)*y - y/x")
    f = numeric.compile_numpy(expr)
    x = np.array([0.5, 1.5, 3.0])
    y = np.array([2.0, -1.0, 0.25])
    want = [xi * xi + 8 + math.log(xi) * yi - yi / xi for xi, yi in zip(x, y, strict=True)]
    assert np.allclose(f(x, y), want, rtol=1e-15, atol=0)


# ---- the classic exercise -----------------------------------------------------------------------


def test_numeric_classic_forward_within_1e5_and_central_better():
    exact = example_exact()
    report = numeric.compare(parse(EXAMPLE), POINT, h=1e-6, methods=["forward", "central"])
    fwd, cen = report.methods["forward"], report.methods["central"]
    for n, w in exact.items():
        assert abs(fwd.estimate[n] - w) < 1e-5
        assert abs(cen.estimate[n] - w) < abs(fwd.estimate[n] - w)
        # the step x + h represents exactly, within an ulp of x of the one asked for
        assert fwd.steps[n] == cen.steps[n] == pytest.approx(1e-6, rel=1e-9)
    assert report.reference == pytest.approx(exact, rel=1e-15)
    assert report.analytic == pytest.approx(exact, rel=1e-14)


@pytest.mark.parametrize("h", [1e-2, 1e-3, 1e-4])
def test_numeric_estimates_recomputed_independently(h):
    report = numeric.compare(parse(EXAMPLE), POINT, h=h)
    f = example_f
    tol = 64 * 2.2e-16 * 30 / h  # round-off of f (|f| < 30 near the point), divided by h
    for i, n in enumerate(POINT):

        def g(d: float, i: int = i) -> float:
            x = list(POINT.values())
            x[i] += d
            return f(*x)

        d = lambda k: (g(k) - g(-k)) / (2 * k)  # noqa: E731
        hh = report.methods["central"].steps[n]  # the step each stencil took
        want = {
            "forward": (g(hh) - g(0)) / hh,
            "backward": (g(0) - g(-hh)) / hh,
            "central": (g(hh) - g(-hh)) / (2 * hh),
            "five_point": (g(-2 * hh) - 8 * g(-hh) + 8 * g(hh) - g(2 * hh)) / (12 * hh),
            "richardson": (4 * d(hh / 2) - d(hh)) / 3,
        }
        for method, w in want.items():
            assert report.methods[method].steps[n] == hh
            assert abs(report.methods[method].estimate[n] - w) <= tol, (method, n)
    evals = {m: r.evaluations for m, r in report.methods.items() if m != "adaptive"}
    assert evals == {
        "forward": 4,
        "backward": 4,
        "central": 6,
        "five_point": 12,
        "richardson": 12,
        "complex_step": 3,
    }


def test_numeric_best_method_and_errors():
    report = numeric.compare(parse(EXAMPLE), POINT)
    exact = example_exact()
    assert report.best == "complex_step"
    for m in report.methods.values():
        for n, w in exact.items():
            assert m.abs_error[n] == pytest.approx(abs(m.estimate[n] - w), rel=1e-6, abs=1e-15)
    # the reverse mode is exact to round-off
    assert all(e < 1e-14 for e in report.analytic_rel_error.values())


# ---- convergence orders and exactness -----------------------------------------------------------

SMOOTH = "exp(sin(x)) * x + cosh(x/3)"


def smooth_exact(x: float) -> float:
    return math.exp(math.sin(x)) * (math.cos(x) * x + 1) + math.sinh(x / 3) / 3


@pytest.mark.parametrize(
    ("method", "h", "ratio"),
    [
        ("forward", 1e-3, 10),
        ("backward", 1e-3, 10),
        ("central", 1e-2, 100),
        ("complex_step", 1e-2, 100),
        ("five_point", 1e-1, 1e4),
        ("richardson", 1e-1, 1e4),
    ],
)
def test_numeric_convergence_order(method, h, ratio):
    expr = parse(SMOOTH)
    w = smooth_exact(0.7)
    errs = []
    for step in (h, h / 10):
        est = numeric.compare(expr, {"x": 0.7}, h=step, methods=[method]).methods[method]
        errs.append(abs(est.estimate["x"] - w))
    assert ratio * 0.7 < errs[0] / errs[1] < ratio * 1.4


def test_numeric_central_exact_on_quadratics():
    # truncation error of the central difference is h**2 f'''/6 = 0 for a quadratic: even a huge
    # step (exactly representable, so no round-off in x+h) gives the derivative exactly
    report = numeric.compare(
        parse("x**2 + 3*x*y - y**2 + 5"), {"x": 3.0, "y": -2.0}, h=0.5, methods=["central"]
    )
    assert report.methods["central"].estimate == {"x": 0.0, "y": 13.0}
    fwd = numeric.compare(parse("x**2"), {"x": 3.0}, h=0.5, methods=["forward"])
    assert fwd.methods["forward"].estimate["x"] == 6.5  # forward is off by h


def test_numeric_complex_step_to_machine_precision():
    report = numeric.compare(parse(SMOOTH), {"x": 0.7}, methods=["complex_step"])
    m = report.methods["complex_step"]
    assert m.steps["x"] == 1e-200 * 0.7  # scaled by |x|, like every default step
    assert abs(m.estimate["x"] - smooth_exact(0.7)) <= 2e-15 * abs(smooth_exact(0.7))


def test_numeric_default_steps_scale_with_x():
    report = numeric.compare(parse("x*y + z"), {"x": 0.5, "y": -100.0, "z": 0.0})
    eps = 2.0**-52
    assert report.methods["forward"].steps == pytest.approx(
        {"x": 0.5 * eps**0.5, "y": 100 * eps**0.5, "z": eps**0.5}, rel=1e-12
    )
    assert report.methods["central"].steps["y"] == pytest.approx(100 * eps ** (1 / 3))
    assert report.methods["five_point"].steps["x"] == pytest.approx(0.5 * eps**0.2)


@pytest.mark.parametrize("x", [1e-3, 1e-6])
def test_numeric_small_x_gets_small_steps(x):
    # log at small x: steps scaled by max(1, |x|) gave 1.2e-5 relative at 1e-3 (issue 11)
    report = numeric.compare(parse("log(x)"), {"x": x}, methods=["central", "adaptive"])
    for m in report.methods.values():
        assert m.rel_error["x"] <= 1e-8, m.name


# ---- domain edge cases --------------------------------------------------------------------------


def test_numeric_domain_edge_log_near_zero():
    report = numeric.compare(parse("log(x) + y**2"), {"x": 1e-9, "y": 1.5})
    cen = report.methods["central"]
    assert cen.rel_error["x"] <= 1e-8  # the step scales with x: it stays inside
    assert cen.estimate["y"] == pytest.approx(3.0, rel=1e-9)
    assert report.methods["complex_step"].estimate["x"] == pytest.approx(1e9, rel=1e-14)
    # a step that leaves the domain: the same order, one-sided, inside it, and it says so
    wide = numeric.compare(parse("log(x)"), {"x": 1e-9}, h=1e-8, methods=["central"])
    cen = wide.methods["central"]
    assert cen.estimate["x"] is not None and cen.one_sided == {"x": "forward"}
    assert "one-sided stencil of order 2" in (cen.note or "")


@pytest.mark.parametrize("method", ["central", "adaptive"])
def test_numeric_sqrt_at_a_domain_edge_within_1e6(method):
    # issue 11: central and adaptive at sqrt(x), x = 1e-8: <= 1e-6 relative, also with a step
    # that would leave the domain
    report = numeric.compare(parse("sqrt(x)"), {"x": 1e-8}, methods=[method])
    assert report.methods[method].rel_error["x"] <= 1e-6


@pytest.mark.parametrize(
    ("text", "point", "h", "side"),
    [
        ("asin(x)", {"x": 0.9999}, 1e-3, "backward"),
        ("exp(x)", {"x": 709.0}, 1.0, "backward"),
        ("sqrt(x)", {"x": 1e-4}, 1e-3, "forward"),
        ("1/x", {"x": 1e-3}, 1e-3, "forward"),
    ],
)
def test_numeric_domain_edge_takes_the_side_inside(text, point, h, side):
    report = numeric.compare(parse(text), point, h=h, methods=["central", "five_point"])
    exact = report.reference["x"]
    for m in report.methods.values():
        assert m.one_sided == {"x": side}, m.name
        assert "one-sided" in (m.note or "")
        assert m.estimate["x"] == pytest.approx(exact, rel=0.5)  # a big step, the right side


def test_numeric_domain_edge_on_both_sides_is_not_available():
    report = numeric.compare(parse("asin(x)"), {"x": 0.0}, h=2.0, methods=["central"])
    cen = report.methods["central"]
    assert cen.estimate["x"] is None and "asin" in (cen.note or "")


def test_numeric_complex_step_applies_away_from_kinks_only():
    report = numeric.compare(parse("relu(x) + abs(y) + abs(-2)*x"), {"x": 1.0, "y": -2.0})
    m = report.methods["complex_step"]
    assert m.applicable and m.estimate == pytest.approx({"x": 3.0, "y": -1.0}, rel=1e-15)
    # issue 11: abs(x) + x**2 at 2 is 5 to 1e-15
    cs = numeric.compare(parse("abs(x) + x**2"), {"x": 2.0}, methods=["complex_step"])
    assert cs.methods["complex_step"].rel_error["x"] <= 1e-15
    at_kink = numeric.compare(parse("relu(x) + x"), {"x": 0.0}, methods=["complex_step"])
    m = at_kink.methods["complex_step"]
    assert not m.applicable and m.evaluations == 0 and "relu sits at its kink" in (m.note or "")


@pytest.mark.parametrize(
    ("text", "point", "op", "variable", "left", "right"),
    [
        ("relu(x) + x", {"x": 0.0}, "relu", "x", 1.0, 2.0),
        ("abs(x - y)", {"x": 1.0, "y": 1.0}, "abs", "x", -1.0, 1.0),
        ("max(x, y) * 3", {"x": 2.0, "y": 2.0}, "max", "y", 0.0, 3.0),
        ("clamp(x, 0, 1)", {"x": 1.0}, "clamp", "x", 1.0, 0.0),
        ("leaky_relu(x, 0.1)", {"x": 0.0}, "leaky_relu", "x", 0.1, 1.0),
    ],
)
def test_numeric_kinks_report_both_one_sided_derivatives(text, point, op, variable, left, right):
    report = numeric.compare(parse(text), point)
    found = [k for k in report.kinks if k.variable == variable]
    assert found and found[0].op == op
    assert found[0].left == pytest.approx(left, abs=1e-6)
    assert found[0].right == pytest.approx(right, abs=1e-6)
    assert report.best is None and report.best_estimated is None  # nothing is best at a kink
    assert any("does not exist here" in n for n in report.notes)
    data = report.to_json()
    assert {"op", "node", "variable", "left", "right"} == set(data["kinks"][0])


def test_numeric_large_expression_uses_mp_reference(monkeypatch):
    monkeypatch.setattr(reference, "SYMBOLIC_LIMIT", 5)
    report = numeric.compare(parse(EXAMPLE), POINT, methods=["central"])
    assert "mpmath" in report.reference_kind and "sympy's derivative evaluated" not in (
        report.reference_kind
    )
    assert report.reference == pytest.approx(example_exact(), rel=1e-15)


# ---- sweep --------------------------------------------------------------------------------------


def test_numeric_sweep_v_shape():
    hs = numeric.sweep_steps()
    assert len(hs) == 16 and hs[0] == pytest.approx(1e-1) and hs[-1] == pytest.approx(1e-16)
    report = numeric.compare(parse(SMOOTH), {"x": 0.7}, sweep=hs)
    assert report.sweep is not None
    for method in ("forward", "central", "five_point"):
        errs = [p.abs_error["x"] for p in report.sweep[method]]
        best = report.best_sweep_step(method, "x")
        k = [p.h for p in report.sweep[method]].index(best)
        assert 0 < k < len(hs) - 1  # truncation on the left, round-off on the right: a V
        assert errs[0] > 100 * errs[k] and errs[-1] > 100 * errs[k]
    cs = [p.abs_error["x"] for p in report.sweep["complex_step"]]
    assert max(cs[8:]) < 1e-14  # h <= 1e-9: no round-off wall for complex step


def test_numeric_resolve_methods_aliases():
    assert numeric.resolve_methods(["symmetric,complex", "forward"]) == [
        "forward",
        "central",
        "complex_step",
    ]
    assert numeric.resolve_methods(None) == list(numeric.METHODS)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        numeric.resolve_methods(["nope"])


def test_numeric_no_heavy_imports_at_import_time():
    code = (
        "import sys, gradcli.numeric, gradcli.commands.compare, gradcli.render.compare; "
        "bad = [m for m in ('numpy', 'torch', 'matplotlib', 'sympy') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_numeric_formulas_do_not_overflow_where_f_is_finite():
    # f = 1e308*x: every f value is finite, so is f' = 1e308; 8*f(x+h) would not be.
    from gradcli import numeric
    from gradcli.parse import parse

    report = numeric.compare(parse("1e308*x"), {"x": 1.0})
    for name, m in report.methods.items():
        assert m.estimate["x"] == pytest.approx(1e308, rel=1e-6), name


def test_numeric_mp_gradient_matches_sympy_reference_with_constants():
    # pi and constant subexpressions are the engine's doubles in both references
    from gradcli import reference
    from gradcli.parse import parse

    e = parse("sin(pi*x) + x*acos(-1) + x*sin(exp(1.5)**(exp(2.0)**3))")
    point = {"x": 0.7}
    fast = reference.mp_gradient(e, point)["x"]
    exact = reference.exact_gradient(e, point)["x"]
    assert abs(fast - exact) <= mpmath.mpf(10) ** -40 * abs(exact)
