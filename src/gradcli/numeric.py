"""``gradcli compare`` as a library: every finite-difference method of the table beside the
reverse-mode gradient and the exact one, with errors, error estimates, kinks and a sweep over h.

An orchestrator over :data:`methods.METHODS`: each row says how it is computed
(:func:`methods.stencil` for the fixed steps, :func:`methods.ridders` for ``adaptive``); the
function is the expression compiled to numpy (:mod:`gradcli.numpy_fn`); the exact reference is
:func:`reference.exact` (sympy's derivative at 50 digits, or the engine's reverse pass run in
mpmath). numpy is imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli import reference
from gradcli.errors import DomainError
from gradcli.evaluate import Evaluation, build
from gradcli.expr import Expression, clip
from gradcli.methods import (
    EPS,
    METHODS,
    Estimate,
    Method,
    default_step,
    resolve_methods,
    ridders,
    stencil,
)
from gradcli.numpy_fn import NumpyFunction, Progress, compile_numpy
from gradcli.ops import OPS

#: at most this many failed perturbed points are explained through the Value graph (each
#: explanation rebuilds the graph); the rest get a short generic reason
MAX_EXPLAINED = 8
#: fixed-step estimates that differ by more than this (relative) "disagree wildly"
DISAGREE = 1e-3

__all__ = [
    "EPS",
    "METHODS",
    "CompareReport",
    "Kink",
    "MethodResult",
    "compare",
    "compile_numpy",
    "default_step",
    "resolve_methods",
    "sweep_steps",
]


def planned_evaluations(nvars: int, methods: Sequence[str], sweep_steps: int = 0) -> int:
    """Function evaluations :func:`compare` will make at most (for a progress bar's total)."""
    one = sum(METHODS[m].evaluations(nvars) for m in methods) + 1
    sweeping = sum(METHODS[m].evaluations(nvars) for m in methods if METHODS[m].in_sweep)
    return one + sweeping * sweep_steps


# ---- kinks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kink:
    """A non-smooth op sitting exactly at its kink: the derivative of f does not exist there
    (along ``variable``); ``left``/``right`` are f's one-sided partial derivatives."""

    op: str
    node: str  # the subexpression, as written
    where: str  # the op table's words ("u = 0", "two arguments tie for the extreme")
    convention: str
    variable: str
    left: float | None
    right: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "node": self.node,
            "variable": self.variable,
            "left": self.left,
            "right": self.right,
        }


def _node_args(v: Any) -> tuple[float, ...]:
    return (*(c.data for c in v._prev), *getattr(v, "_params", ()))


def kinks(ev: Evaluation) -> list[Kink]:
    """Every node of the Value graph at its kink (``Op.kink``), once per variable it depends on,
    with f's one-sided derivatives along that variable (reverse mode just beside the point)."""
    leaves = {id(v): name for name, v in ev.leaves.items()}
    found: list[Kink] = []
    for v in ev.output.topo():
        op = OPS.get(v._op)
        if op is None or op.kink is None:
            continue
        where = op.kink(*_node_args(v))
        if where is None:
            continue
        tree = ev.nodes.get(id(v))
        text = clip(ev.expression.text_of(tree), 60, "...") if tree is not None else op.name
        for name in [leaves[id(n)] for n in v.topo() if id(n) in leaves]:
            left, right = _one_sided(ev, name)
            found.append(Kink(op.name, text, where, op.convention, name, left, right))
    return found


def _one_sided(ev: Evaluation, name: str) -> tuple[float | None, float | None]:
    """f's derivative along ``name`` just left and just right of the point: the reverse-mode
    gradient a hair away, where every kink has chosen its side (exact for piecewise-linear
    kinks, and within ~1e-9 relative otherwise)."""
    x = ev.point[name]
    delta = 1e-9 * max(1.0, abs(x))
    out: list[float | None] = []
    for sign in (-1.0, 1.0):
        try:
            side = build(ev.expression, {**ev.point, name: x + sign * delta})
        except DomainError:
            out.append(None)
            continue
        out.append(side.gradient[name])
    return out[0], out[1]


# ---- the report ---------------------------------------------------------------------------------


@dataclass
class MethodResult:
    """One method's estimates, with its errors against the exact reference."""

    name: str
    h: float | None  # --h, or the textbook step at |x| = 1 (None for adaptive)
    steps: dict[str, float]
    estimate: dict[str, float | None]
    abs_error: dict[str, float | None]
    rel_error: dict[str, float | None]
    digits: dict[str, int | None]
    evaluations: int
    note: str | None = None
    applicable: bool = True
    reasons: list[str] = field(default_factory=list)  # one per variable not available
    error_estimate: dict[str, float | None] | None = None  # its own, where it has one
    status: dict[str, str] | None = None  # adaptive: how each partial stopped
    per_partial: dict[str, int] | None = None  # adaptive: evaluations spent on each partial
    one_sided: dict[str, str] = field(default_factory=dict)  # variable -> "forward"/"backward"

    @property
    def method(self) -> Method:
        return METHODS[self.name]

    def score(self) -> float:
        """Worst error over the variables: relative, absolute where the reference is 0 (the
        same measure the tables show)."""
        if not self.applicable or not self.estimate:
            return math.inf
        worst = 0.0
        for name in self.estimate:
            err = worst_error(self.rel_error.get(name), self.abs_error.get(name))
            if err is None:
                return math.inf
            worst = max(worst, err)
        return worst

    def estimated_score(self) -> float | None:
        """The worst of its own error estimates, in the same measure; None without them."""
        if not self.applicable or not self.error_estimate:
            return None
        worst = 0.0
        for name, e in self.error_estimate.items():
            est = self.estimate.get(name)
            if e is None or est is None or not math.isfinite(e):
                return None
            worst = max(worst, e / abs(est) if est != 0 else e)
        return worst

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "h": self.h,
            "steps": self.steps,
            "estimate": self.estimate,
            "abs_error": self.abs_error,
            "rel_error": self.rel_error,
            "digits": self.digits,
            "evaluations": self.evaluations,
            "note": self.note,
            "error_estimate": self.error_estimate,
        }
        if self.status is not None:
            out["status"] = self.status
            out["evaluations_per_partial"] = self.per_partial
        if self.one_sided:
            out["one_sided"] = self.one_sided
        return out


def worst_error(rel: float | None, ab: float | None) -> float | None:
    """The error measure of the tables: relative, or absolute where the exact value is 0."""
    return rel if rel is not None else ab


@dataclass
class SweepPoint:
    h: float
    abs_error: dict[str, float | None]


@dataclass
class CompareReport:
    expression: Expression
    point: dict[str, float]
    value: float
    reference: dict[str, float | None]  # exact, rounded to float
    reference_kind: str
    analytic: dict[str, float]  # reverse mode through the Value graph
    analytic_abs_error: dict[str, float | None]
    analytic_rel_error: dict[str, float | None]
    methods: dict[str, MethodResult]
    h: float | None  # --h when given
    best: str | None  # smallest true error (against the exact reference)
    best_estimated: str | None = None  # smallest error by the methods' own estimates
    sweep: dict[str, list[SweepPoint]] | None = None
    notes: list[str] = field(default_factory=list)
    kinks: list[Kink] = field(default_factory=list)

    def optimal_step(self, method: str, name: str) -> float | None:
        """The theoretical optimum step for a variable (None for complex step: any tiny h)."""
        m = METHODS[method]
        if m.imaginary or m.adaptive:
            return None
        return default_step(method, self.point[name])

    def best_sweep_step(self, method: str, name: str) -> float | None:
        """The step of the sweep with the smallest error (the largest such step on a tie)."""
        if not self.sweep or method not in self.sweep:
            return None
        best: tuple[float, float] | None = None
        for p in self.sweep[method]:
            err = p.abs_error.get(name)
            if err is not None and (best is None or err < best[1]):
                best = (p.h, err)
        return best[0] if best else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "expression": self.expression.display,
            "point": self.point,
            "value": self.value,
            "reference": self.reference,
            "reference_kind": self.reference_kind,
            "analytic": self.analytic,
            "analytic_abs_error": self.analytic_abs_error,
            "methods": {name: m.to_json() for name, m in self.methods.items()},
            "best": self.best,
            "best_by_estimate": self.best_estimated,
            "kinks": [k.to_json() for k in self.kinks],
            "notes": self.notes,
        }
        if self.sweep is not None:
            out["sweep"] = {
                name: [{"h": p.h, "abs_error": p.abs_error} for p in points]
                for name, points in self.sweep.items()
            }
        return out


def _split(x: Any) -> tuple[float, float] | None:
    """A 50-digit number as hi + lo floats (double-double), None if not finite."""
    hi = reference.to_float(x)
    if hi is None:
        return None
    lo = reference.to_float(x - hi)
    return hi, lo or 0.0


def _errors(
    est: float | None, exact: tuple[float, float] | None
) -> tuple[float | None, float | None, int | None]:
    """Absolute and relative error of a float against hi + lo, and the correct digits."""
    if est is None or exact is None:
        return None, None, None
    hi, lo = exact
    ab = abs((est - hi) - lo)  # est - hi is exact when they are close (Sterbenz)
    if not math.isfinite(ab):
        return None, None, None
    rel = ab / abs(hi) if hi != 0 else None
    err = worst_error(rel, ab)
    assert err is not None
    digits = 16 if err == 0 else max(0, min(16, math.floor(-math.log10(err))))
    return ab, rel, digits


def _explainer(expression: Expression, point: dict[str, float]) -> Callable[[str, float], str]:
    """Why f is not available at point + delta e_name, in words, via the Value graph's checks."""
    explained = 0

    def explain(name: str, delta: float) -> str:
        nonlocal explained
        where = f"{name} {'+' if delta >= 0 else '-'} {abs(delta):.3g}"
        if explained < MAX_EXPLAINED:
            explained += 1
            try:
                build(expression, {**point, name: point[name] + delta})
            except DomainError as exc:
                return f"at {where}: {exc.message}"
        return f"f is not a finite number at {where} (outside its domain, or it overflows)"

    return explain


def _complex_blocked(ev: Evaluation) -> str | None:
    """Why complex step does not apply here: a non-analytic op at its kink; None if it does."""
    for v in ev.output.topo():
        op = OPS.get(v._op)
        if op is None or op.analytic:
            continue
        where = op.kink(*_node_args(v)) if op.kink is not None else None
        if where is not None:
            return (
                f"not applicable: {op.name} sits at its kink ({where}), where f is not analytic "
                "(complex step needs a function that is analytic at the point)"
            )
    return None


def _estimate(
    f: NumpyFunction,
    base: Sequence[float],
    method: str,
    h: float | None,
    f0: float,
    progress: Progress | None,
) -> Estimate:
    import numpy as np

    if METHODS[method].adaptive:
        return ridders(f, base, f0, progress)
    if h is not None:
        steps = np.full(len(base), h)
    else:
        steps = np.array([default_step(method, x) for x in base])
    return stencil(f, base, method, steps, f0, progress)


def compare(
    expression: Expression,
    point: dict[str, float],
    *,
    h: float | None = None,
    methods: Sequence[str] | None = None,
    sweep: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> CompareReport:
    """Every chosen method's estimates beside the reverse-mode and the exact gradient.

    ``h`` sets the step of every fixed-step method (default: each method's textbook step,
    scaled by |x|); ``sweep`` is a list of steps to run every fixed-step method at, for the
    error-vs-h plot. Raises :class:`DomainError` when f itself is undefined at the point.
    """
    ev = build(expression, point)  # checks the point and the domain; the reverse-mode gradient
    point = ev.point
    names = expression.variables
    chosen = resolve_methods(methods)
    notes: list[str] = list(ev.warnings)

    exact = reference.exact(expression, point, evaluation=ev)
    split = {name: _split(exact.values[name]) if name in exact.values else None for name in names}
    ref = {name: (s[0] if s else None) for name, s in split.items()}
    analytic = ev.gradient
    a_err = {name: _errors(analytic[name], split[name]) for name in names}
    found_kinks = kinks(ev) if names else []

    f = compile_numpy(expression)
    base = [point[name] for name in names]
    f0 = ev.value
    blocked = _complex_blocked(ev)
    explain = _explainer(expression, point)

    results: dict[str, MethodResult] = {}
    for name in chosen:
        m = METHODS[name]
        if (m.imaginary and blocked) or not names:
            results[name] = _not_applicable(name, h, names, blocked if names else None)
            continue
        res = _estimate(f, base, name, h, f0, progress)
        results[name] = _result(name, m, h, names, res, split, explain)

    scored = [(r.score(), r.evaluations, n) for n, r in results.items()]
    # no "best" among methods that all miss, nor against a convention at a kink
    scored = [s for s in scored if math.isfinite(s[0]) and s[0] < 0.5]
    best = min(scored)[2] if scored and names and not found_kinks else None
    estimated = [
        (e, r.evaluations, n) for n, r in results.items() if (e := r.estimated_score()) is not None
    ]
    best_estimated = min(estimated)[2] if estimated and not found_kinks else None

    notes.extend(_notes(results, names, point, found_kinks))

    sweep_result: dict[str, list[SweepPoint]] | None = None
    if sweep is not None and names:
        sweep_result = {}
        for name in chosen:
            if not results[name].applicable or not METHODS[name].in_sweep:
                continue
            points: list[SweepPoint] = []
            for step in sweep:
                res = _estimate(f, base, name, float(step), f0, progress)
                errors = {}
                for i, var in enumerate(names):
                    v = float(res.values[i])
                    errors[var] = _errors(v if math.isfinite(v) else None, split[var])[0]
                points.append(SweepPoint(float(step), errors))
            sweep_result[name] = points
    if not names:
        notes.append("the expression has no variables: there is no gradient to estimate")

    return CompareReport(
        expression=expression,
        point=point,
        value=ev.value,
        reference=ref,
        reference_kind=exact.kind,
        analytic=analytic,
        analytic_abs_error={v: e[0] for v, e in a_err.items()},
        analytic_rel_error={v: e[1] for v, e in a_err.items()},
        methods=results,
        h=h,
        best=best,
        best_estimated=best_estimated,
        sweep=sweep_result,
        notes=notes,
        kinks=found_kinks,
    )


def _not_applicable(name: str, h: float | None, names: list[str], why: str | None) -> MethodResult:
    empty: dict[str, Any] = dict.fromkeys(names)
    return MethodResult(
        name, h, {}, empty, dict(empty), dict(empty), dict(empty), 0, note=why, applicable=False
    )


def _result(
    name: str,
    m: Method,
    h: float | None,
    names: list[str],
    res: Estimate,
    split: dict[str, tuple[float, float] | None],
    explain: Callable[[str, float], str],
) -> MethodResult:
    est: dict[str, float | None] = {}
    for i, var in enumerate(names):
        v = float(res.values[i])
        est[var] = v if math.isfinite(v) else None
    reasons = [f"{names[i]}: not available, {explain(names[i], d)}" for i, d in res.failed]
    errs = {var: _errors(est[var], split[var]) for var in names}
    steps = {var: float(s) for var, s in zip(names, res.steps, strict=True) if math.isfinite(s)}
    error_estimate = None
    if res.error is not None:
        error_estimate = {
            var: (float(e) if math.isfinite(float(e)) else None)
            for var, e in zip(names, res.error, strict=True)
        }
    one_sided = {var: side for var, side in zip(names, res.sides, strict=False) if side}
    status = dict(zip(names, res.status, strict=True)) if res.status is not None else None
    per_partial = (
        {var: int(k) for var, k in zip(names, res.per_partial, strict=True)}
        if res.per_partial is not None
        else None
    )
    note = "; ".join(reasons) or None
    if one_sided and not m.adaptive:
        sides = ", ".join(f"{v} ({s})" for v, s in one_sided.items())
        note = "; ".join(
            filter(
                None,
                [note, f"one-sided stencil of order {m.order} inside the domain for {sides}"],
            )
        )
    return MethodResult(
        name,
        None if m.adaptive else (h if h is not None else m.step),
        steps,
        est,
        {v: e[0] for v, e in errs.items()},
        {v: e[1] for v, e in errs.items()},
        {v: e[2] for v, e in errs.items()},
        res.evaluations,
        note=note,
        reasons=reasons,
        error_estimate=error_estimate,
        status=status,
        per_partial=per_partial,
        one_sided=one_sided,
    )


def _notes(
    results: dict[str, MethodResult],
    names: list[str],
    point: dict[str, float],
    found_kinks: list[Kink],
) -> list[str]:
    """What a reader should know about these estimates, in words."""
    notes: list[str] = []
    for k in found_kinks:
        notes.append(
            f"{k.node}: {k.op} sits at its kink ({k.where}): the derivative along {k.variable} "
            f"does not exist here (from the left {_short(k.left)}, from the right "
            f"{_short(k.right)}); the exact reference and reverse mode use the convention "
            f"{k.convention}, so no method is marked best"
        )
    for var in names:
        fixed = [
            r.estimate[var]
            for r in results.values()
            if r.applicable and not r.method.adaptive and not r.method.imaginary
        ]
        values = [v for v in fixed if v is not None]
        if len(values) < 2 or abs(point[var]) <= 1:
            continue
        spread = max(values) - min(values)
        if spread > DISAGREE * max(abs(v) for v in values):
            notes.append(
                f"the fixed-step methods disagree wildly on d/d{var}: their steps grow with "
                f"|{var}| = {abs(point[var]):g}, but f changes on a much shorter scale here; "
                "use --method adaptive, or a smaller --h"
            )
    return notes


def _short(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.12g}"


def sweep_steps(h_max: float = 1e-1, h_min: float = 1e-16, steps: int | None = None) -> list[float]:
    """Steps from ``h_max`` down to ``h_min``, evenly spaced in log; default one per decade."""
    import numpy as np

    decades = math.log10(h_max / h_min)
    count = steps if steps is not None else max(2, round(decades) + 1)
    if count == 1:
        return [h_max]
    return [float(x) for x in np.logspace(math.log10(h_max), math.log10(h_min), count)]
