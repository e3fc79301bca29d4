"""Numerical derivative estimates beside the analytic gradient: ``gradcli compare`` as a library.

Every function evaluation goes through :func:`compile_numpy`, a numpy version of the expression
tree (each op's ``numpy`` counterpart from the op table), called on whole arrays: all the
perturbed points a method needs (x + h e_i for every variable i, ...) are evaluated in one pass
over the tree, in chunks that bound the memory. Complex inputs give the complex-step derivative.

The references: the reverse-mode gradient from the Value graph, and an exact one at 50
significant digits: sympy's derivative evaluated with mpmath (:func:`reference.exact_gradient`),
or, for expressions too large for sympy, :func:`mp_gradient`: the reverse-mode pass re-run in
mpmath at 50 digits with each op's local derivatives taken symbolically by sympy.

numpy, sympy and mpmath are imported inside the functions that need them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli import reference
from gradcli.errors import DomainError
from gradcli.evaluate import build
from gradcli.expr import Expression

#: machine epsilon of float64
EPS = 2.0**-52
#: numbers one batch of perturbed points may hold (variables x points), about 32 MB of float64
CHUNK = 1 << 22
#: at most this many failed perturbed points are explained through the Value graph (each
#: explanation rebuilds the graph); the rest get a short generic reason
MAX_EXPLAINED = 8

#: ``progress(n)``: n more function evaluations are done
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Method:
    """One finite-difference family member: how it is computed and its textbook step."""

    name: str
    title: str
    formula: str
    order: int  # truncation error O(h**order)
    step: float  # textbook optimal step for |x| <= 1 (scaled by max(1, |x|))
    step_text: str
    offsets: tuple[complex, ...]  # perturbations, in units of h, per variable
    short: str = ""  # name in narrow tables

    @property
    def label(self) -> str:
        return self.short or self.name


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "forward",
            "forward difference",
            "(f(x+h) - f(x)) / h",
            1,
            EPS**0.5,
            "eps^(1/2)",
            (1,),
            "forward",
        ),
        Method(
            "backward",
            "backward difference",
            "(f(x) - f(x-h)) / h",
            1,
            EPS**0.5,
            "eps^(1/2)",
            (-1,),
            "backward",
        ),
        Method(
            "central",
            "central (symmetric) difference",
            "(f(x+h) - f(x-h)) / 2h",
            2,
            EPS ** (1 / 3),
            "eps^(1/3)",
            (1, -1),
            "central",
        ),
        Method(
            "five_point",
            "5-point central stencil",
            "(f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h",
            4,
            EPS**0.2,
            "eps^(1/5)",
            (2, 1, -1, -2),
            "5-point",
        ),
        Method(
            "richardson",
            "Richardson extrapolation of central",
            "(4 D(h/2) - D(h)) / 3 with D(h) the central difference",
            4,
            EPS**0.2,
            "eps^(1/5)",
            (1, -1, 0.5, -0.5),
            "Richardson",
        ),
        Method(
            "complex_step",
            "complex step",
            "Im f(x + ih) / h",
            2,
            1e-200,
            "1e-200",
            (1j,),
            "complex step",
        ),
    )
}

ALIASES = {
    "symmetric": "central",
    "five-point": "five_point",
    "5-point": "five_point",
    "5point": "five_point",
    "complex-step": "complex_step",
    "complex": "complex_step",
}


def resolve_methods(names: Sequence[str] | None) -> list[str]:
    """Method names (repeated or comma-separated, aliases allowed) in table order.

    Raises ValueError naming the unknown one.
    """
    if not names:
        return list(METHODS)
    chosen: set[str] = set()
    for item in names:
        for raw in item.split(","):
            word = raw.strip().lower()
            if not word:
                continue
            name = ALIASES.get(word, word)
            if name not in METHODS:
                raise ValueError(
                    f"unknown method {raw.strip()!r}; choose from {', '.join(METHODS)}"
                )
            chosen.add(name)
    return [m for m in METHODS if m in chosen]


# ---- the compiled numeric function ---------------------------------------------------------------


class NumpyFunction:
    """The expression as a numpy function of one array per variable (in ``variables`` order).

    Compiled once from the tree into a flat program (children before parents, constants folded,
    each intermediate array freed after its last use); each call runs the program once, on whole
    arrays. Works on real and complex arrays alike.
    """

    def __init__(self, expression: Expression) -> None:
        self.variables = list(expression.variables)
        index = {name: i for i, name in enumerate(self.variables)}
        nvars = len(self.variables)
        reg: dict[int, int] = {}
        self.constants: list[tuple[int, float]] = []
        program: list[tuple[Any, tuple[int, ...], tuple[float, ...], int]] = []
        nregs = nvars
        for node in expression.nodes:
            if node.kind == "var":
                reg[id(node)] = index[node.name]
            elif node.const is not None:
                reg[id(node)] = nregs
                self.constants.append((nregs, node.const))
                nregs += 1
            else:
                args = tuple(reg[id(a)] for a in node.args)
                reg[id(node)] = nregs
                program.append((node.op.numpy, args, node.params, nregs))
                nregs += 1
        self.output = reg[id(expression.root)]
        self.nregs = nregs
        # free each intermediate after the step that uses it last
        last: dict[int, int] = {}
        for step, (_, args, _, _) in enumerate(program):
            for a in args:
                last[a] = step
        frees: list[list[int]] = [[] for _ in program]
        fixed = {c for c, _ in self.constants}
        for r, step in last.items():
            if r >= nvars and r != self.output and r not in fixed:
                frees[step].append(r)
        self.program = [(*p, tuple(f)) for p, f in zip(program, frees, strict=True)]
        self.size = len(program)

    def __call__(self, *arrays: Any) -> Any:
        import numpy as np

        regs: list[Any] = [None] * self.nregs
        regs[: len(arrays)] = arrays
        for r, c in self.constants:
            regs[r] = np.float64(c)
        for fn, args, params, out, frees in self.program:
            regs[out] = fn(np, *[regs[a] for a in args], *params)
            for r in frees:
                regs[r] = None
        result = regs[self.output]
        shape = np.shape(arrays[0]) if arrays else ()
        return np.broadcast_to(result, shape) if np.shape(result) != shape else result


def compile_numpy(expression: Expression) -> NumpyFunction:
    """The expression as a vectorised numpy function: ``f(x_array, y_array, ...) -> array``."""
    return NumpyFunction(expression)


def evaluate_perturbed(
    f: NumpyFunction,
    base: Sequence[float],
    var: Any,
    delta: Any,
    progress: Progress | None = None,
) -> Any:
    """``out[r] = f(base + delta[r] * e_var[r])`` for every row r, in memory-bounded chunks.

    ``delta`` complex gives complex evaluations. Non-finite results are left as they are (nan,
    inf): the caller decides what they mean. numpy's warnings are silenced.
    """
    import numpy as np

    n = len(base)
    m = len(var)
    dtype = complex if np.iscomplexobj(delta) else float
    out = np.empty(m, dtype=dtype)
    b = np.asarray(base, dtype=dtype)
    chunk = max(1, CHUNK // max(1, n))
    with np.errstate(all="ignore"):
        for s in range(0, m, chunk):
            e = min(m, s + chunk)
            x = np.repeat(b[:, None], e - s, axis=1)
            x[var[s:e], np.arange(e - s)] += delta[s:e]
            out[s:e] = f(*x)
            if progress is not None:
                progress(e - s)
    return out


@dataclass
class Estimate:
    """One method's estimates at one step per variable, as numpy arrays."""

    values: Any  # (n,) float, nan where not available
    failed: list[tuple[int, float]]  # (variable index, perturbation) of points that failed
    evaluations: int


def estimate(
    f: NumpyFunction,
    base: Sequence[float],
    method: str,
    steps: Any,
    f0: float,
    progress: Progress | None = None,
) -> Estimate:
    """Estimate every partial derivative with ``method``, variable i with step ``steps[i]``.

    ``f0`` is f at ``base`` (shared by the one-sided differences).
    """
    import numpy as np

    m = METHODS[method]
    n = len(base)
    steps = np.asarray(steps, dtype=float)
    offsets = m.offsets
    var = np.tile(np.arange(n), len(offsets))
    delta = np.concatenate([o * steps for o in offsets])
    vals = evaluate_perturbed(f, base, var, delta, progress).reshape(len(offsets), n)
    bad = ~np.isfinite(vals)
    h = steps
    # The textbook formulas, arranged so that no intermediate exceeds the values themselves:
    # 8*f(x+h) or 4*D(h/2) can overflow where f and the derivative are finite (f = 1e308*x).
    with np.errstate(all="ignore"):
        if method == "forward":
            est = (vals[0] - f0) / h
        elif method == "backward":
            est = (f0 - vals[0]) / h
        elif method == "central":
            est = (0.5 * vals[0] - 0.5 * vals[1]) / h
        elif method == "five_point":
            p2, p1, m1, m2 = vals  # (f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h
            est = ((m2 / 12 - p2 / 12) + (p1 / 1.5 - m1 / 1.5)) / h
        elif method == "richardson":
            p1, m1, ph, mh = vals
            d1 = (0.5 * p1 - 0.5 * m1) / h
            d2 = (ph - mh) / h  # central difference with step h/2
            est = d2 + (d2 - d1) / 3  # (4 D(h/2) - D(h)) / 3
        else:  # complex_step
            est = vals[0].imag / h
    est = np.asarray(est, dtype=float)
    failed: list[tuple[int, float]] = []
    for i in np.flatnonzero(bad.any(axis=0) | ~np.isfinite(est)):
        k = int(np.argmax(bad[:, i])) if bad[:, i].any() else 0
        failed.append((int(i), float((offsets[k] * steps[i]).real)))
        est[i] = np.nan
    evaluations = len(offsets) * n + (1 if method in ("forward", "backward") else 0)
    return Estimate(est, failed, evaluations)


def non_analytic_ops(expression: Expression) -> list[str]:
    """Ops in the expression (applied to something that varies) that complex step cannot see
    through."""
    return sorted(
        {
            node.name
            for node in expression.nodes
            if node.kind == "op" and node.const is None and not node.op.analytic
        }
    )


def default_step(method: str, x: float) -> float:
    """The textbook step, scaled by max(1, |x|)."""
    return METHODS[method].step * max(1.0, abs(x))


def planned_evaluations(nvars: int, methods: Sequence[str], sweep_steps: int = 0) -> int:
    """Function evaluations :func:`compare` will make (for a progress bar's total)."""
    one = sum(len(METHODS[m].offsets) * nvars for m in methods) + 1
    return one * (1 + sweep_steps)


# ---- the report ---------------------------------------------------------------------------------


@dataclass
class MethodResult:
    """One method at one step per variable, with its errors against the exact reference."""

    name: str
    h: float | None  # --h, or the textbook step before scaling by max(1, |x|)
    steps: dict[str, float]
    estimate: dict[str, float | None]
    abs_error: dict[str, float | None]
    rel_error: dict[str, float | None]
    digits: dict[str, int | None]
    evaluations: int
    note: str | None = None
    applicable: bool = True
    reasons: list[str] = field(default_factory=list)  # one per variable not available

    @property
    def method(self) -> Method:
        return METHODS[self.name]

    def score(self) -> float:
        """Worst error over the variables (relative, absolute where the reference is 0)."""
        if not self.applicable or not self.estimate:
            return math.inf
        worst = 0.0
        for name in self.estimate:
            rel, ab = self.rel_error.get(name), self.abs_error.get(name)
            err = rel if rel is not None else ab
            if err is None:
                return math.inf
            worst = max(worst, err)
        return worst

    def to_json(self) -> dict[str, Any]:
        return {
            "h": self.h,
            "steps": self.steps,
            "estimate": self.estimate,
            "abs_error": self.abs_error,
            "rel_error": self.rel_error,
            "digits": self.digits,
            "evaluations": self.evaluations,
            "note": self.note,
        }


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
    best: str | None
    sweep: dict[str, list[SweepPoint]] | None = None
    notes: list[str] = field(default_factory=list)

    def optimal_step(self, method: str, name: str) -> float | None:
        """The theoretical optimum step for a variable (None for complex step: any tiny h)."""
        if method == "complex_step":
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
    err = rel if rel is not None else ab
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

    ``h`` sets the step of every method (default: each method's textbook step, scaled by
    max(1, |x|)); ``sweep`` is a list of steps to run every method at, for the error-vs-h plot.
    Raises :class:`DomainError` when f itself is undefined at the point.
    """
    import numpy as np

    ev = build(expression, point)  # checks the point and the domain; the reverse-mode gradient
    point = ev.point
    names = expression.variables
    chosen = resolve_methods(methods)
    notes: list[str] = []

    # the exact reference
    reference_ = reference.exact(expression, point)
    exact, kind = reference_.values, reference_.kind
    split = {name: _split(exact[name]) if name in exact else None for name in names}
    ref = {name: (s[0] if s else None) for name, s in split.items()}
    analytic = ev.gradient
    a_err = {name: _errors(analytic[name], split[name]) for name in names}

    f = compile_numpy(expression)
    base = [point[name] for name in names]
    f0 = ev.value
    blocked = non_analytic_ops(expression)
    explain = _explainer(expression, point)

    results: dict[str, MethodResult] = {}
    for name in chosen:
        if name == "complex_step" and blocked:
            results[name] = MethodResult(
                name,
                h,
                {},
                dict.fromkeys(names),
                dict.fromkeys(names),
                dict.fromkeys(names),
                dict.fromkeys(names),
                0,
                note=f"not applicable: the expression uses {', '.join(blocked)}, which "
                f"{'is' if len(blocked) == 1 else 'are'} not analytic (complex step needs a "
                "function that is analytic at the point)",
                applicable=False,
            )
            continue
        if h is not None:
            steps = np.full(len(names), h)
        else:
            steps = np.array([default_step(name, x) for x in base])
        res = estimate(f, base, name, steps, f0, progress) if names else None
        est: dict[str, float | None] = {}
        reasons: list[str] = []
        for i, var in enumerate(names):
            v = float(res.values[i]) if res is not None else math.nan
            est[var] = v if math.isfinite(v) else None
        if res is not None:
            for i, delta in res.failed:
                reasons.append(f"{names[i]}: not available, {explain(names[i], delta)}")
        errs = {var: _errors(est[var], split[var]) for var in names}
        results[name] = MethodResult(
            name,
            h if h is not None else METHODS[name].step,
            {var: float(s) for var, s in zip(names, steps, strict=True)},
            est,
            {v: e[0] for v, e in errs.items()},
            {v: e[1] for v, e in errs.items()},
            {v: e[2] for v, e in errs.items()},
            res.evaluations if res is not None else 0,
            note="; ".join(reasons) or None,
            reasons=reasons,
        )

    scored = [(m.score(), m.evaluations, name) for name, m in results.items()]
    # no "best" among methods that all miss: a method must get at least one digit right
    scored = [s for s in scored if math.isfinite(s[0]) and s[0] < 0.5]
    best = min(scored)[2] if scored and names else None

    sweep_result: dict[str, list[SweepPoint]] | None = None
    if sweep is not None and names:
        sweep_result = {}
        for name in chosen:
            if not results[name].applicable:
                continue
            points: list[SweepPoint] = []
            for step in sweep:
                res = estimate(f, base, name, np.full(len(names), step), f0, progress)
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
        reference_kind=kind,
        analytic=analytic,
        analytic_abs_error={v: e[0] for v, e in a_err.items()},
        analytic_rel_error={v: e[1] for v, e in a_err.items()},
        methods=results,
        h=h,
        best=best,
        sweep=sweep_result,
        notes=notes,
    )


def sweep_steps(h_max: float = 1e-1, h_min: float = 1e-16, steps: int | None = None) -> list[float]:
    """Steps from ``h_max`` down to ``h_min``, evenly spaced in log; default one per decade."""
    import numpy as np

    decades = math.log10(h_max / h_min)
    count = steps if steps is not None else max(2, round(decades) + 1)
    if count == 1:
        return [h_max]
    return [float(x) for x in np.logspace(math.log10(h_max), math.log10(h_min), count)]
