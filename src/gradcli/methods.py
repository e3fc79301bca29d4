"""The finite-difference method table: one row per method, and the two ways a row is computed.

A fixed-step row is a stencil: ``terms`` are ``(w, a, b)`` meaning ``w * (f(x + a h) - f(x + b h))``
(``b`` None: ``f(x + a h)`` alone, for the complex step's imaginary part), summed and divided by
``h``. Pairs are subtracted before they are weighted, so no intermediate exceeds the values
themselves (``8*f(x+h)`` can overflow where f and its derivative are finite) and the difference
of two close values is exact. The row also holds the same-order stencil on one side (for a point
near a domain edge), a lower-order stencil on the same points (its difference from the estimate
is a free error estimate), the textbook step and order, and how the method is drawn.

The ``adaptive`` row is Ridders' method: central differences at a shrinking sequence of steps,
extrapolated in a Neville tableau, stopping when the extrapolation's own error estimate stops
improving. It needs no exact reference: it returns an error estimate and a status.

Adding a method is adding a row: compare, the sweep, the plots and the JSON read the rows.
numpy is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli.numpy_fn import NumpyFunction, Progress, evaluate_perturbed

#: machine epsilon of float64
EPS = 2.0**-52

#: ``(w, a, b)``: ``w * (f(x + a h) - f(x + b h))``; ``b`` None: ``f(x + a h)`` alone
Term = tuple[float, complex, complex | None]


@dataclass(frozen=True)
class Method:
    """One finite-difference method: what it evaluates, its textbook step, how it is drawn."""

    name: str
    title: str
    formula: str
    order: int  # truncation error O(h**order)
    step: float  # textbook step for |x| = 1; it scales with |x| (and is this at x = 0)
    step_text: str
    terms: tuple[Term, ...]  # the estimate, times h * denominator
    marker: str  # one letter in the terminal plot
    style: str  # its colour
    denominator: float = 1.0  # integer weights over a common denominator round least
    short: str = ""  # name in narrow tables
    one_sided: tuple[Term, ...] = ()  # same order, points x + a h with a >= 0 (for domain edges)
    check: tuple[Term, ...] = ()  # a lower-order estimate on the same points: a free error bound
    imaginary: bool = False  # the imaginary part of f(x + a h): needs f analytic at the point
    adaptive: bool = False  # its steps and estimate come from :func:`ridders`
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.short or self.name

    @property
    def in_sweep(self) -> bool:
        """Whether it runs at each step of ``--sweep`` (adaptive chooses its own steps)."""
        return not self.adaptive

    def offsets(self, terms: Sequence[Term] | None = None) -> list[complex]:
        """The distinct perturbations (in units of h) the terms evaluate, f(x) excluded."""
        out: list[complex] = []
        for _, a, b in self.terms if terms is None else terms:
            for o in (a, b):
                if o is not None and o != 0 and o not in out:
                    out.append(o)
        return out

    def uses_f0(self, terms: Sequence[Term] | None = None) -> bool:
        return any(b == 0 or a == 0 for _, a, b in (self.terms if terms is None else terms))

    def evaluations(self, nvars: int) -> int:
        """Function evaluations of one estimate of every partial (adaptive: at most)."""
        if self.adaptive:
            return MAX_EVALS * nvars
        return len(self.offsets()) * nvars + (1 if self.uses_f0() else 0)


def mirror(terms: Sequence[Term]) -> tuple[Term, ...]:
    """The stencil on the other side: f(x - a h) for f(x + a h), and the sign that makes it
    the same derivative."""
    return tuple((-w, -a, None if b is None else -b) for w, a, b in terms)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("forward", "forward difference", "(f(x+h) - f(x)) / h", 1, EPS**0.5,
               "eps^(1/2)", ((1.0, 1, 0),), "f", "red", one_sided=((1.0, 1, 0),)),
        Method("backward", "backward difference", "(f(x) - f(x-h)) / h", 1, EPS**0.5,
               "eps^(1/2)", ((1.0, 0, -1),), "b", "magenta", one_sided=((1.0, 1, 0),)),
        Method("central", "central (symmetric) difference", "(f(x+h) - f(x-h)) / 2h", 2,
               EPS ** (1 / 3), "eps^(1/3)", ((1.0, 1, -1),), "c", "green", denominator=2.0,
               one_sided=((4.0, 1, 0), (-1.0, 2, 0)), aliases=("symmetric",)),
        Method("five_point", "5-point central stencil",
               "(f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h", 4, EPS**0.2, "eps^(1/5)",
               ((8.0, 1, -1), (-1.0, 2, -2)), "5", "cyan", short="5-point", denominator=12.0,
               one_sided=((48.0, 1, 0), (-36.0, 2, 0), (16.0, 3, 0), (-3.0, 4, 0)),
               check=((6.0, 1, -1),), aliases=("five-point", "5-point", "5point")),
        Method("richardson", "Richardson extrapolation of central",
               "(4 D(h/2) - D(h)) / 3 with D(h) the central difference", 4, EPS**0.2,
               "eps^(1/5)", ((8.0, 0.5, -0.5), (-1.0, 1, -1)), "r", "blue",
               short="Richardson", denominator=6.0,
               one_sided=((48.0, 0.5, 0), (-36.0, 1, 0), (16.0, 1.5, 0), (-3.0, 2, 0)),
               check=((6.0, 0.5, -0.5),)),
        Method("complex_step", "complex step", "Im f(x + ih) / h", 2, 1e-200, "1e-200",
               ((1.0, 1j, None),), "i", "yellow", short="complex step", imaginary=True,
               aliases=("complex-step", "complex")),
        Method("adaptive", "adaptive (Ridders' extrapolation)",
               "central differences at h0, h0/1.6, ... extrapolated until the error estimate "
               "stops improving", 0, 0.5, "auto", ((1.0, 1, -1),), "a", "white",
               denominator=2.0, adaptive=True, aliases=("ridders",)),
    )
}  # fmt: skip

#: other names accepted for methods
ALIASES: dict[str, str] = {alias: m.name for m in METHODS.values() for alias in m.aliases}


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


def default_step(method: str, x: float) -> float:
    """The textbook step, scaled by |x| (by 1 at x = 0): small x gets small steps."""
    m = METHODS[method]
    scaled = m.step * (abs(x) if x != 0 else 1.0)
    return max(scaled, 1e-300) if m.imaginary else scaled


# ---- fixed-step stencils ------------------------------------------------------------------------


@dataclass
class Estimate:
    """One method's estimates of every partial derivative, as numpy arrays."""

    values: Any  # (n,) float, nan where not available
    failed: list[tuple[int, float]]  # (variable index, perturbation) of points that failed
    evaluations: int  # in all (f(x) once; adaptive: the sum over the partials)
    error: Any = None  # (n,) its own error estimate, or None when it has no cheap one
    sides: list[str | None] = field(default_factory=list)  # "forward"/"backward": one-sided
    steps: Any = None  # (n,) the step each partial used
    status: list[str] | None = None  # adaptive only: how each partial stopped
    per_partial: Any = None  # adaptive only: (n,) evaluations spent on each partial


def combine(terms: Sequence[Term], value: Any, imaginary: bool) -> Any:
    """Sum of ``w * (f(x + a h) - f(x + b h))`` over the terms, given ``value(offset)``."""
    total = 0.0
    for w, a, b in terms:
        diff = value(a) if b is None else value(a) - value(b)
        total = total + w * (diff.imag if imaginary else diff)
    return total


def stencil(
    f: NumpyFunction,
    base: Sequence[float],
    method: str,
    steps: Any,
    f0: float,
    progress: Progress | None = None,
) -> Estimate:
    """Every partial derivative by ``method``'s stencil, variable i with step ``steps[i]``.

    Where a point of the stencil is not a finite number (it leaves f's domain, or f overflows
    there), the same-order one-sided stencil on the side that stays inside is used instead.
    """
    import numpy as np

    m = METHODS[method]
    n = len(base)
    steps = np.asarray(steps, dtype=float)
    if not m.imaginary:  # a step that x + h represents exactly: the stencil's points are exact
        x = np.asarray(base, dtype=float)
        with np.errstate(all="ignore"):
            exact = (x + steps) - x
        steps = np.where(np.isfinite(exact) & (exact > 0), exact, steps)
    est, good = _stencil_values(f, base, m, m.terms, steps, f0, progress)
    error = None
    if m.check:
        with np.errstate(all="ignore"):
            check, _ = _stencil_values(f, base, m, m.check, steps, f0, None, count=False)
            error = np.abs(est - check)
    sides: list[str | None] = [None] * n
    failed: list[tuple[int, float]] = []
    bad = [i for i in range(n) if not good[i]]
    if bad and m.one_sided:
        for side, terms in (("forward", m.one_sided), ("backward", mirror(m.one_sided))):
            if not bad:
                break
            idx = np.array(bad)
            sub = [base[i] for i in range(n)]
            one, ok = _stencil_values(f, sub, m, terms, steps, f0, progress, only=idx)
            for k, i in enumerate(bad[:]):
                if ok[k]:
                    est[i] = one[k]
                    sides[i] = side
                    bad.remove(i)
                    if error is not None:
                        error[i] = np.nan
    for i in bad:
        first = m.offsets()[0]
        failed.append((i, float((first * steps[i]).real) or float(steps[i])))
        est[i] = np.nan
    evaluations = len(m.offsets()) * n + (1 if m.uses_f0() else 0)
    return Estimate(est, failed, evaluations, error, sides, steps)


def _stencil_values(
    f: NumpyFunction,
    base: Sequence[float],
    m: Method,
    terms: Sequence[Term],
    steps: Any,
    f0: float,
    progress: Progress | None,
    *,
    only: Any = None,
    count: bool = True,
) -> tuple[Any, Any]:
    """The stencil's estimate for the variables ``only`` (default all) and whether every point
    it used was finite."""
    import numpy as np

    idx = np.arange(len(base)) if only is None else np.asarray(only)
    offsets = m.offsets(terms)
    h = steps[idx]
    var = np.tile(idx, len(offsets))
    delta = np.concatenate([o * h for o in offsets]) if offsets else np.zeros(0)
    vals = evaluate_perturbed(f, base, var, delta, progress if count else None)
    table = vals.reshape(len(offsets), len(idx)) if offsets else np.zeros((0, len(idx)))
    with np.errstate(all="ignore"):
        good = np.all(np.isfinite(table), axis=0) if offsets else np.ones(len(idx), bool)

        def value(o: complex, scale: float = 1.0) -> Any:
            return scale * (np.full(len(idx), f0) if o == 0 else table[offsets.index(o)])

        est = np.asarray(combine(terms, value, m.imaginary) / (m.denominator * h), dtype=float)
        # weights times differences near the largest float can overflow where every point and
        # the derivative are finite (exp at 709): the same sum on values scaled by 2**-64
        over = good & ~np.isfinite(est)
        if over.any():
            tiny = 2.0**-64
            scaled = combine(terms, lambda o: value(o, tiny), m.imaginary) / (m.denominator * h)
            est = np.where(over, np.asarray(scaled, dtype=float) / tiny, est)
    good = good & np.isfinite(est)
    return est, good


# ---- the adaptive method: Ridders' extrapolation ---------------------------------------------

#: most function evaluations the adaptive method spends on one partial derivative
MAX_EVALS = 30
#: the step shrinks by this factor from one column of the tableau to the next
CON = 1.6
#: stop once the newest extrapolation is this many times worse than the best
SAFE = 2.0
NTAB = 12
#: columns after which a start whose error estimate is still above 10% is given up for a
#: narrower one (its step spans a pole or a wiggle of f)
PROBE = 3
#: starting steps tried at most
MAX_STARTS = 5


def ridders(
    f: NumpyFunction, base: Sequence[float], f0: float, progress: Progress | None = None
) -> Estimate:
    """Every partial derivative by Ridders' method, with an error estimate and a status.

    Two starting steps per variable, on the function's own scale rather than |x|'s: 0.5 (right
    for sin at 1e6, where a step of 0.5|x| sees nothing but aliasing), and 0.5|x| (right near a
    domain edge or a pole, log at 1e-6 or 1/x at 1e-3, and for large |x|, log at 1e4). The start
    whose own error estimate is smaller wins; the second is skipped once the first is exact to
    about 1e-13. The error estimate is the tableau's (doubled) or the rounding error of the
    differences, whichever is larger. A variable whose every central difference fails (a domain
    edge) is differentiated one-sided.
    """
    import numpy as np

    x = np.asarray(base, dtype=float)
    n = len(x)
    result = _Tableau.empty(n)
    first = np.full(n, 0.5)
    tried = first.copy()
    for attempt in range(MAX_STARTS):
        if attempt == 0:
            h0 = first
        elif attempt == 1:
            h0 = 0.5 * np.abs(x)
        else:  # every start so far was too wide (a pole, a wiggle, an overflow): narrower
            h0 = tried / 10
        good = np.isfinite(result.err) & (result.err <= 1e-13 * np.abs(result.best))
        want = ~good & (h0 > 0) & (result.evals + PROBE * 2 <= MAX_EVALS)
        if attempt == 1:
            want &= ~np.isclose(h0, first)
        if attempt >= 2:
            want &= np.array([s in ("poor start", "non-finite") for s in result.status])
        if not want.any():
            continue
        tried = np.where(want, np.minimum(tried, h0), tried)
        result.merge(_pass(f, x, f0, h0, np.flatnonzero(want), 0, result.evals, progress))
    for side in (1, -1):  # a domain edge on both sides of every central difference
        want = np.array([s == "non-finite" for s in result.status]) & (
            result.evals + 3 <= MAX_EVALS
        )
        if want.any():
            h0 = np.where(x != 0, 0.5 * np.abs(x), 0.5)
            one = _pass(f, x, f0, h0, np.flatnonzero(want), side, result.evals, progress)
            result.merge(one, side="forward" if side > 0 else "backward")
    error = np.maximum(2.0 * result.err, result.rounding)
    # no start gave a stable extrapolation: the estimate is not to be trusted, whatever the
    # tableau's last differences say
    error[[k for k, s in enumerate(result.status) if s == "poor start"]] = np.inf
    failed = [(i, float(first[i])) for i in range(n) if not np.isfinite(result.best[i])]
    return Estimate(
        result.best,
        failed,
        int(result.evals.sum()),
        error,
        result.sides,
        result.h,
        result.status,
        result.evals,
    )


@dataclass
class _Tableau:
    """The best extrapolation so far for each variable, and what it cost."""

    best: Any
    err: Any
    rounding: Any
    h: Any
    evals: Any
    status: list[str]
    sides: list[str | None]

    @classmethod
    def empty(cls, n: int) -> _Tableau:
        import numpy as np

        return cls(
            np.full(n, np.nan),
            np.full(n, np.inf),
            np.full(n, np.inf),
            np.full(n, np.nan),
            np.zeros(n, dtype=int),
            ["non-finite"] * n,
            [None] * n,
        )

    def merge(self, other: _Tableau, side: str | None = None) -> None:
        """Take, variable by variable, whichever estimate has the smaller error estimate."""
        import numpy as np

        self.evals = self.evals + other.evals
        mine = np.maximum(2 * self.err, self.rounding)
        theirs = np.maximum(2 * other.err, other.rounding)
        for i in range(len(self.best)):
            if np.isfinite(other.best[i]) and (
                not np.isfinite(self.best[i]) or theirs[i] < mine[i]
            ):
                self.best[i], self.err[i], self.rounding[i] = (
                    other.best[i],
                    other.err[i],
                    other.rounding[i],
                )
                self.h[i], self.status[i] = other.h[i], other.status[i]
                self.sides[i] = side


def _pass(
    f: NumpyFunction,
    x: Any,
    f0: float,
    h0: Any,
    active: Any,
    side: int,
    spent: Any,
    progress: Progress | None,
) -> _Tableau:
    """One Ridders tableau for each variable in ``active``, starting at ``h0``; ``side`` 0 is
    central differences (errors in even powers of h), +1/-1 one-sided (all powers)."""
    import numpy as np

    n = len(x)
    out = _Tableau.empty(n)
    per_step = 2 if side == 0 else 1
    power = 2 if side == 0 else 1
    table = np.full((n, NTAB, NTAB), np.nan)
    h = np.array(h0, dtype=float)
    live = np.zeros(n, dtype=bool)
    live[active] = True
    scale = np.full(n, abs(f0))
    err = np.full(n, np.inf)
    for i in range(NTAB):
        step = live & (spent + out.evals + per_step <= MAX_EVALS)
        live &= step
        if not step.any():
            break
        idx = np.flatnonzero(step)
        if i > 0:
            h[idx] /= CON
        hi = h[idx]
        if side == 0:
            var = np.concatenate([idx, idx])
            delta = np.concatenate([hi, -hi])
        else:
            var, delta = idx, side * hi
        vals = evaluate_perturbed(f, x, var, delta, progress).reshape(per_step, len(idx))
        out.evals[idx] += per_step
        with np.errstate(all="ignore"):
            if side == 0:
                up, down = vals
                taken = (x[idx] + hi) - (x[idx] - hi)
                d = (up - down) / taken
                size = np.maximum(np.abs(up), np.abs(down))
            else:
                d = (vals[0] - f0) / ((x[idx] + side * hi) - x[idx])
                size = np.abs(vals[0])
        bad = ~np.isfinite(d)
        if bad.any():
            for k in idx[bad]:
                out.status[k] = "non-finite"
            live[idx[bad]] = False
            idx, d, size, hi = idx[~bad], d[~bad], size[~bad], hi[~bad]
        if not len(idx):
            continue
        scale[idx] = np.maximum(scale[idx], size)
        table[idx, 0, i] = d
        if i == 0:
            out.best[idx], out.h[idx] = d, hi
            for k in idx:  # one column has no error estimate yet
                out.status[k] = "evaluation limit"
            continue
        fac = CON**power
        for j in range(1, i + 1):
            with np.errstate(all="ignore"):
                table[idx, j, i] = (table[idx, j - 1, i] * fac - table[idx, j - 1, i - 1]) / (
                    fac - 1
                )
                e = np.maximum(
                    np.abs(table[idx, j, i] - table[idx, j - 1, i]),
                    np.abs(table[idx, j, i] - table[idx, j - 1, i - 1]),
                )
            fac *= CON**power
            better = e <= err[idx]
            sel = idx[better]
            err[sel] = e[better]
            out.best[sel] = table[sel, j, i]
            out.h[sel] = h[sel]
            out.rounding[sel] = 8 * EPS * scale[sel] / h[sel]
        with np.errstate(invalid="ignore"):
            grew = np.abs(table[idx, i, i] - table[idx, i - 1, i - 1]) >= SAFE * err[idx]
        converged = err[idx] <= 4 * EPS * np.abs(out.best[idx])
        poor = (i + 1 == PROBE) & ~(err[idx] <= 0.1 * np.abs(out.best[idx]))
        for k, g, c, p in zip(idx, grew, converged, poor):
            if p:
                out.status[k] = "poor start"
                live[k] = False
            elif c:
                out.status[k] = "converged"
                live[k] = False
            elif g:
                out.status[k] = "error grew"
                live[k] = False
    out.err = err
    return out
