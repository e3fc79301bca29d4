"""The finite-difference method table: every row against the exact derivative, the adaptive
method on functions it was not tuned on, its error estimate and statuses, and a mutation test."""

from __future__ import annotations

import dataclasses
import math

import pytest

from gradcli import methods, numeric, reference
from gradcli.methods import METHODS, mirror
from gradcli.parse import parse

# none of these is in benchmarks/bench_adaptive.py, where the method was tuned
UNSEEN = [
    ("x*exp(-x)", {"x": 2.0}),
    ("sinh(x)/x", {"x": 0.7}),
    ("log1p(x**2)", {"x": -0.3}),
    ("atan2(y, x)", {"x": 1.5, "y": -0.4}),
    ("erf(x)", {"x": 0.4}),
    ("1/(1 + x**2)", {"x": 3.0}),
    ("x**0.3", {"x": 5.0}),
    ("cos(x**2)", {"x": 1.1}),
    ("silu(x) * mish(y)", {"x": -0.8, "y": 0.6}),
    ("hypot(x, y) + cbrt(x)", {"x": -2.0, "y": 0.5}),
    ("exp(x)", {"x": -30.0}),
    ("tan(x)", {"x": 1.4}),
]


@pytest.mark.parametrize(("text", "point"), UNSEEN, ids=[t for t, _ in UNSEEN])
def test_methods_adaptive_on_functions_it_was_not_tuned_on(text, point):
    report = numeric.compare(parse(text), point, methods=["adaptive"])
    a = report.methods["adaptive"]
    for name in point:
        assert a.rel_error[name] <= 1e-11, (name, a.rel_error[name])
        assert a.per_partial[name] <= methods.MAX_EVALS
        assert a.status[name] in ("converged", "error grew", "evaluation limit")
    # the statuses the table knows, and no other
    assert set(a.status.values()) <= {"converged", "error grew", "evaluation limit"}


def test_methods_adaptive_error_estimate_bounds_the_true_error():
    covered = total = 0
    ratios = []
    for text, point in UNSEEN:
        a = numeric.compare(parse(text), point, methods=["adaptive"]).methods["adaptive"]
        for name in point:
            total += 1
            covered += a.error_estimate[name] >= a.abs_error[name]
            ratios.append(a.error_estimate[name] / max(a.abs_error[name], 1e-300))
    assert covered / total >= 0.9
    ratios.sort()
    assert ratios[len(ratios) // 2] <= 1e4  # not vacuous


def test_methods_adaptive_statuses():
    import numpy as np

    # f that is not a finite number anywhere but at the point itself: "non-finite"
    def nowhere(x):
        return np.where(x == 1.0, 0.0, np.nan)

    est = methods.ridders(nowhere, [1.0], 0.0)  # type: ignore[arg-type]
    assert est.status == ["non-finite"] and not np.isfinite(est.values[0])
    # a pole 0.0008 away: no start settles; the status says so and there is no error bound
    r = numeric.compare(parse("tan(x)"), {"x": 1.57}, methods=["adaptive"])
    a = r.methods["adaptive"]
    assert a.status == {"x": "poor start"} and a.error_estimate == {"x": None}
    # a pole 0.17 away: the first starts are too wide, a narrower one is exact
    r = numeric.compare(parse("tan(x)"), {"x": 1.4}, methods=["adaptive"])
    assert r.methods["adaptive"].rel_error["x"] <= 1e-12
    # a polynomial: the tableau reaches the exact value and stops early
    r = numeric.compare(parse("x**3"), {"x": 2.0}, methods=["adaptive"])
    assert r.methods["adaptive"].status == {"x": "converged"}
    assert r.methods["adaptive"].per_partial["x"] < 10
    # at a domain edge on one side: one-sided extrapolation, inside
    r = numeric.compare(parse("sqrt(x)"), {"x": 1e-300}, methods=["adaptive"])
    assert r.methods["adaptive"].rel_error["x"] <= 1e-6


@pytest.mark.parametrize("name", [m for m in METHODS if not METHODS[m].adaptive])
def test_methods_every_row_matches_the_exact_derivative(name):
    m = METHODS[name]
    r = numeric.compare(parse("exp(sin(x))*x"), {"x": 0.7}, methods=[name])
    got = r.methods[name].rel_error["x"]
    # the textbook step's error: truncation and round-off balance near eps**(order/(order+1))
    assert got <= 40 * 2.0 ** (-52 * m.order / (m.order + 1)), got


def test_methods_one_sided_stencils_have_the_rows_order():
    # one-sided twins must converge at the same order as the stencil they stand in for
    f_exact = math.cos(0.5)
    for name in ("central", "five_point", "richardson"):
        m = METHODS[name]
        errors = []
        for h in (1e-1, 1e-2):
            row = dataclasses.replace(m, terms=m.one_sided, denominator=_denominator(name))
            with _row(name, row):
                est = numeric.compare(parse("sin(x)"), {"x": 0.5}, h=h, methods=[name])
            errors.append(abs(est.methods[name].estimate["x"] - f_exact))
        assert errors[0] / errors[1] == pytest.approx(10**m.order, rel=0.5), name


def _denominator(name: str) -> float:
    return {"central": 2.0, "five_point": 12.0, "richardson": 6.0}[name]


class _row:
    """Swap one row of the method table for the duration of a with-block."""

    def __init__(self, name: str, row: methods.Method) -> None:
        self.name, self.row = name, row

    def __enter__(self) -> None:
        self.old = METHODS[self.name]
        METHODS[self.name] = self.row

    def __exit__(self, *exc: object) -> None:
        METHODS[self.name] = self.old


def test_methods_mirror_is_the_same_derivative_from_the_other_side():
    terms = METHODS["central"].one_sided
    back = mirror(terms)
    assert all(a <= 0 for _, a, _ in back)
    r = numeric.compare(parse("sqrt(x)"), {"x": 1e-4}, h=1e-3, methods=["central"])
    assert r.methods["central"].one_sided == {"x": "forward"}


def test_methods_a_planted_wrong_weight_is_caught():
    # mutation: the 5-point stencil with 7 where 8 belongs is no longer a derivative at all;
    # the comparison with the exact reference must say so
    m = METHODS["five_point"]
    wrong = dataclasses.replace(m, terms=((7.0, 1, -1), (-1.0, 2, -2)))
    with _row("five_point", wrong):
        r = numeric.compare(parse("sin(x)"), {"x": 1.0})
    assert r.methods["five_point"].rel_error["x"] > 0.1
    assert r.best != "five_point" and r.methods["five_point"].digits["x"] == 0
    ok = numeric.compare(parse("sin(x)"), {"x": 1.0}, methods=["five_point"])
    assert ok.methods["five_point"].rel_error["x"] < 1e-12


def test_methods_error_estimates_only_where_cheap():
    r = numeric.compare(parse("sin(x)"), {"x": 1.0})
    has = {n for n, m in r.methods.items() if m.error_estimate is not None}
    assert has == {"five_point", "richardson", "adaptive"}
    for n in has:  # the cheap ones bound the error too (they are pessimistic, not vacuous)
        m = r.methods[n]
        assert m.error_estimate["x"] >= m.abs_error["x"]


def test_methods_reference_kind_is_said():
    r = numeric.compare(parse("sin(x)"), {"x": 1.0}, methods=["adaptive"])
    assert "sympy" in r.reference_kind
    assert reference.DPS == 50
