"""``gradcli hessian`` as a library call: the matrix of second derivatives at a point.

Three ways, side by side, each with its error:

* **reverse over reverse** through the Value graph: one backward pass with
  ``create_graph=True`` gives the gradient as Values (the backward pass built out of Values, from
  each op's ``vpartials`` in the op table), then one backward pass over each gradient entry
  gives a row: n passes over the gradient graph for n variables;
* **sympy's exact Hessian**: each entry differentiated symbolically (shown as text) and
  evaluated with mpmath at 50 digits;
* **finite differences of the reverse-mode gradient**: the ``central`` row of the methods table
  (:mod:`gradcli.methods`) applied to the gradient, one column per variable, with its one-sided
  stencil where a point leaves the domain.

Then the eigenvalues of the (symmetrised) Hessian and what they say about the point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gradcli import reference
from gradcli.engine import Value, grad
from gradcli.errors import DomainError
from gradcli.evaluate import build
from gradcli.expr import Expression, clip
from gradcli.methods import EPS, METHODS, combine, default_step, mirror
from gradcli.ops import OPS

#: the finite-difference method applied to the gradient (a row of the methods table)
FD_METHOD = "central"
#: sympy's entries are computed by default up to this many variables (n(n+1)/2 derivatives);
#: ``symbolic=True`` forces them
SYMBOLIC_VARIABLES = 12
#: an eigenvalue within this many n*eps of the largest |eigenvalue| counts as 0
ZERO_EIGEN = 64.0
#: the point is stationary when every |df/dx_i| <= this * max(1, |f|)
STATIONARY = 1e-8

DEFINITENESS = (
    "positive definite",
    "negative definite",
    "indefinite",
    "positive semidefinite",
    "negative semidefinite",
    "zero",
    "none",
)


@dataclass
class FdHessian:
    method: str  # in words
    hessian: list[list[float | None]]  # rows = d(gradient)/dx_j laid out as H[i][j]
    max_rel_error: float | None  # against ``against``
    against: str  # "exact" or "reverse mode"
    one_sided: list[str] = field(default_factory=list)  # variables that needed it
    steps: list[float] = field(default_factory=list)


@dataclass
class HessianReport:
    expression: Expression
    point: dict[str, float]
    variables: list[str]
    value: float
    gradient: list[float]
    hessian: list[list[float]]  # reverse over reverse
    symbolic: list[list[str]] | None  # sympy's entries as text; None when skipped
    exact: list[list[float | None]] | None  # sympy's entries at 50 digits, as floats
    fd: FdHessian
    eigenvalues: list[float]
    definiteness: str
    stationary: bool | None
    meaning: str  # what the eigenvalues say about the point, in words
    max_rel_error: float | None  # reverse over reverse against the exact Hessian
    asymmetry: float  # max |H - H^T| / max(1, max |H|): round-off in the two passes
    passes: int  # backward passes over the gradient graph (one per variable)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": self.expression.display,
            "point": self.point,
            "variables": self.variables,
            "value": self.value,
            "gradient": self.gradient,
            "hessian": self.hessian,
            "symbolic": self.symbolic,
            "exact": self.exact,
            "max_rel_error": _finite(self.max_rel_error),
            "fd": {
                "method": self.fd.method,
                "hessian": self.fd.hessian,
                "max_rel_error": _finite(self.fd.max_rel_error),
                "against": self.fd.against,
                "steps": self.fd.steps,
                "one_sided": self.fd.one_sided,
            },
            "eigenvalues": self.eigenvalues,
            "definiteness": self.definiteness,
            "stationary": self.stationary,
            "meaning": self.meaning,
            "passes": self.passes,
            "notes": self.notes,
        }


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


# ---- the three Hessians --------------------------------------------------------------------------


#: called as the work goes: (what, done, total)
Progress = Callable[[str, int, int], None]


def reverse_over_reverse(
    output: Value, inputs: list[Value], progress: Progress | None = None
) -> tuple[list[float], list[list[float]]]:
    """The gradient and the Hessian of ``output``: one backward pass that builds the gradient as
    Values, then one backward pass over each of its entries (a row each)."""
    first = grad(output, inputs, create_graph=True)
    rows = []
    for i, g in enumerate(first):
        if progress:
            progress("Hessian rows (reverse over reverse)", i, len(first))
        rows.append(grad(g, inputs))
    return [float(g.data) for g in first], rows


def _gradient_at(expression: Expression, names: list[str], point: dict[str, float]) -> Any:
    """The reverse-mode gradient at ``point`` as a numpy array; NaNs where it is not defined."""
    import numpy as np

    try:
        ev = build(expression, point)
    except DomainError:
        return np.full(len(names), np.nan)
    return np.array([ev.leaves[n].grad for n in names], dtype=float)


def fd_hessian(
    expression: Expression, point: dict[str, float], progress: Progress | None = None
) -> tuple[list[list[float | None]], list[float], list[str]]:
    """Column j of the Hessian as the ``central`` stencil applied to the reverse-mode gradient
    along x_j (see :func:`_fd_column` for the step); the same-order one-sided stencil where the
    central one leaves the domain. Returns H[i][j] (None where no stencil fits), the steps, and
    the variables that went one-sided."""
    import numpy as np

    m = METHODS[FD_METHOD]
    names = list(point)
    n = len(names)
    g0 = _gradient_at(expression, names, point)

    def at(name: str, delta: float) -> Any:
        if delta == 0:
            return g0
        return _gradient_at(expression, names, {**point, name: point[name] + delta})

    cols: list[Any] = []
    steps: list[float] = []
    one_sided: list[str] = []
    for k, name in enumerate(names):
        if progress:
            progress("finite differences (columns)", k, n)
        x = point[name]
        col, h, side = _fd_column(m, x, partial(at, name))
        steps.append(h)
        if side:
            one_sided.append(name)
        cols.append(col if col is not None else np.full(n, np.nan))
    hess: list[list[float | None]] = [
        [(float(cols[j][i]) if math.isfinite(cols[j][i]) else None) for j in range(n)]
        for i in range(n)
    ]
    return hess, steps, one_sided


def _fd_column(m: Any, x: float, gradient: Callable[[float], Any]) -> tuple[Any, float, str]:
    """One column, from ``gradient(delta)`` (the gradient with x moved by delta): the central
    stencil with h = c*max(|x|, 1) (c = eps^(1/3)); where a point leaves the domain, with
    h = c*|x| (a small x beside a pole: log at 1e-9); then the one-sided stencils. Returns the
    column (None when nothing fits), the step, and "forward"/"backward" when one-sided."""
    import numpy as np

    steps = [default_step(FD_METHOD, max(abs(x), 1.0))]
    if 0 < abs(x) < 1:
        steps.append(default_step(FD_METHOD, x))
    plans = [(h, m.terms, "") for h in steps]
    plans += [(steps[-1], m.one_sided, "forward"), (steps[-1], mirror(m.one_sided), "backward")]
    for h, terms, side in plans:
        h = ((x + h) - x) or h  # a step that x + h represents exactly

        def value(offset: complex, h: float = h) -> Any:
            return gradient(offset.real * h)

        with np.errstate(all="ignore"):
            est = np.asarray(combine(terms, value, False) / (m.denominator * h), dtype=float)
        if np.all(np.isfinite(est)):
            return est, h, side
    return None, steps[-1], ""


def exact_hessian(
    expression: Expression, point: dict[str, float]
) -> tuple[list[list[str]], list[list[float | None]]]:
    """sympy's Hessian: every entry as text, and its value at ``point`` at 50 digits. Only the
    upper triangle is differentiated (the Hessian of a twice-differentiable function is
    symmetric); raises :class:`reference.SymbolicUnavailable` when sympy cannot."""
    import sympy as sp

    sym = reference.symbolic(expression)
    names = expression.variables
    texts: list[list[str]] = [[""] * len(names) for _ in names]
    values: list[list[float | None]] = [[None] * len(names) for _ in names]
    try:
        for i, a in enumerate(names):
            for j in range(i, len(names)):
                b = names[j]
                d = sp.diff(sym.derivatives[a], sym.symbols[b])
                dn = sp.diff(sym.numeric_derivatives[a], sym.symbols[b])
                text = str(d)
                v = reference.to_float(reference.evaluate(dn, point, sym.symbols))
                texts[i][j] = texts[j][i] = text
                values[i][j] = values[j][i] = v
    except RecursionError:
        raise reference.SymbolicUnavailable(
            "sympy exceeded Python's recursion limit on a second derivative"
        ) from None
    return texts, values


# ---- errors and eigenvalues ----------------------------------------------------------------------


def max_rel_error(
    ours: Sequence[Sequence[float | None]], ref: Sequence[Sequence[float | None]]
) -> float | None:
    """The largest entry-wise error: |ours - ref| / |ref|, or |ours - ref| where ref is 0.
    None when nothing can be compared; inf when an entry of ``ours`` is missing."""
    worst: float | None = None
    for row, ref_row in zip(ours, ref, strict=True):
        for x, y in zip(row, ref_row, strict=True):
            if y is None:
                continue
            if x is None:
                return math.inf
            e = abs(x - y) / abs(y) if y != 0 else abs(x - y)
            worst = e if worst is None else max(worst, e)
    return worst


def classify(eigenvalues: list[float]) -> str:
    """``positive definite``, ``negative definite``, ``indefinite``, ``positive semidefinite``,
    ``negative semidefinite``; ``zero`` for the zero matrix. An eigenvalue within round-off of 0
    (ZERO_EIGEN * n * eps relative to the largest |eigenvalue|) counts as 0."""
    if not eigenvalues:
        return "none"
    top = max(abs(x) for x in eigenvalues)
    if top == 0:
        return "zero"
    return _signs(eigenvalues, ZERO_EIGEN * len(eigenvalues) * EPS * top)


_MEANING = {
    "positive definite": "a local minimum",
    "negative definite": "a local maximum",
    "indefinite": "a saddle point",
    "positive semidefinite": (
        "not decided by the second derivatives (an eigenvalue is 0): a minimum or a degenerate "
        "saddle; higher derivatives decide"
    ),
    "negative semidefinite": (
        "not decided by the second derivatives (an eigenvalue is 0): a maximum or a degenerate "
        "saddle; higher derivatives decide"
    ),
    "zero": "not decided by the second derivatives (the Hessian is 0); higher derivatives decide",
}

_SHAPE = {
    "positive definite": "f curves upward in every direction (locally convex)",
    "negative definite": "f curves downward in every direction (locally concave)",
    "indefinite": "f curves upward in some directions and downward in others",
    "positive semidefinite": "f curves upward or is flat in every direction",
    "negative semidefinite": "f curves downward or is flat in every direction",
    "zero": "f has no curvature here (it is locally linear)",
}


def meaning(definiteness: str, stationary: bool | None) -> str:
    """What the eigenvalues say, in words."""
    if definiteness == "none":
        return "the expression has no variables: there is no Hessian"
    if stationary:
        return f"the gradient is 0 here and the Hessian is {definiteness}: {_MEANING[definiteness]}"
    return f"not a stationary point (the gradient is not 0); {_SHAPE[definiteness]}"


def exact_eigenvalues(exact: list[list[float | None]]) -> list[Any] | None:
    """The eigenvalues of sympy's Hessian at 50 digits (mpmath), smallest first; None when an
    entry is missing. They decide signs that float round-off cannot (an eigenvalue 1e-19 times
    the largest)."""
    import mpmath as mp

    if any(x is None for row in exact for x in row):
        return None
    with mp.workdps(reference.DPS):
        values = mp.eigsy(mp.matrix(exact), eigvals_only=True)
        return sorted(mp.mpf(values[i]) for i in range(len(exact)))


def _signs(values: list[Any], tol: float) -> str:
    pos = sum(x > tol for x in values)
    neg = sum(x < -tol for x in values)
    if pos and neg:
        return "indefinite"
    kind = "positive" if pos else "negative"
    return f"{kind} definite" if pos + neg == len(values) else f"{kind} semidefinite"


def _round_off_note(eig: list[float], exact: list[list[float | None]], said: str) -> str | None:
    """When an eigenvalue counted as 0 in floating point has a sign at 50 digits: say so."""
    import mpmath as mp

    precise = exact_eigenvalues(exact)
    if precise is None or said == "zero":
        return None
    top = max(abs(x) for x in precise)
    decided = _signs(precise, top * 1e-40)
    if decided == said:
        return None
    small = min(precise, key=abs)
    return (
        f"in floating point the Hessian is {said}: an eigenvalue is 0 within round-off "
        f"relative to the largest ({max(map(abs, eig)):.3g}); sympy's Hessian, its eigenvalues "
        f"taken at {reference.DPS} digits, has eigenvalue {mp.nstr(small, 6)} and is {decided}"
    )


def _kinks(output: Value) -> tuple[list[str], list[str]]:
    """The ops sitting at a kink (the first derivative jumps), and those where only the second
    derivative jumps (elu at 0)."""
    first: list[str] = []
    second: list[str] = []
    for v in output.topo():
        op = OPS.get(v._op)
        if op is None:
            continue
        args = (*(c.data for c in v._prev), *getattr(v, "_params", ()))
        if op.kink is not None and op.kink(*args) is not None and op.name not in first:
            first.append(op.name)
        if op.kink2 is not None and op.kink2(*args) is not None and op.name not in second:
            second.append(op.name)
    return first, second


# ---- the report ----------------------------------------------------------------------------------


def hessian_report(
    expression: Expression,
    point: dict[str, float],
    *,
    symbolic: bool | None = None,
    progress: Progress | None = None,
) -> HessianReport:
    """The Hessian of ``expression`` at ``point`` three ways, its eigenvalues and what they say.

    ``symbolic=None`` asks sympy unless the expression is too large or has more than
    :data:`SYMBOLIC_VARIABLES` variables; True forces it, False skips it.
    """
    import numpy as np

    ev = build(expression, point, backward=False)
    names = list(expression.variables)
    point = ev.point
    notes: list[str] = list(ev.warnings)
    inputs = [ev.leaves[n] for n in names]
    gradient, hess = reverse_over_reverse(ev.output, inputs, progress) if names else ([], [])
    for name, g in zip(names, gradient):
        if not math.isfinite(g):
            raise DomainError(
                f"the derivative with respect to {name} overflows ({g}) at this point",
                hint="pick another point",
                overflow=True,
            )
    for i, row in enumerate(hess):
        for j, x in enumerate(row):
            if not math.isfinite(x):
                raise DomainError(
                    f"the second derivative d2f/d{names[i]}d{names[j]} of "
                    f"{clip(expression.display, 40, '...')} is {x} at this point",
                    hint="pick another point (a second derivative is infinite or overflows here)",
                    overflow=True,
                )
    kinks, jumps = _kinks(ev.output)
    if kinks:
        notes.append(
            f"{', '.join(kinks)} sits exactly at its kink: f is not twice differentiable there; "
            "the Hessian shown uses the op table's conventions for the one-sided derivatives, "
            "and finite differences straddle the kink"
        )
    if jumps:
        notes.append(
            f"{', '.join(jumps)} sits where its second derivative jumps: the Hessian shown "
            "follows PyTorch's convention (gradcli ops NAME says which side), and finite "
            "differences average the two sides"
        )

    texts: list[list[str]] | None = None
    exact: list[list[float | None]] | None = None
    want = symbolic
    if want is None:
        want = not reference.too_large(expression) and len(names) <= SYMBOLIC_VARIABLES
        if not want and names:
            notes.append(
                "sympy's exact Hessian skipped: "
                + (
                    f"the expression has {expression.size:,} nodes (more than "
                    f"{reference.SYMBOLIC_LIMIT:,})"
                    if reference.too_large(expression)
                    else f"{len(names)} variables (more than {SYMBOLIC_VARIABLES}) make "
                    f"{len(names) * (len(names) + 1) // 2:,} symbolic derivatives"
                )
                + "; --symbolic forces it. Finite differences are compared with reverse mode "
                "instead"
            )
    if want and names:
        try:
            texts, exact = exact_hessian(expression, point)
        except reference.SymbolicUnavailable as exc:
            notes.append(f"sympy's exact Hessian skipped: {exc.reason}")
    fd_values, steps, one_sided = fd_hessian(expression, point, progress) if names else ([], [], [])
    # finite differences against sympy's entries, or reverse mode's where sympy has none (no
    # sympy, or an entry undefined at this point: DiracDelta at a kink)
    base: Sequence[Sequence[float | None]] = exact if exact is not None else hess
    fd_ref: list[list[float | None]] = [
        [e if e is not None else h for e, h in zip(er, hr)] for er, hr in zip(base, hess)
    ]
    against = "reverse mode"
    if exact is not None:
        holes = any(e is None for row in exact for e in row)
        against = "exact, reverse mode where sympy's entry is undefined" if holes else "exact"
    fd = FdHessian(
        "central differences of the reverse-mode gradient, h = eps^(1/3)*max(|x|, 1) "
        "(eps^(1/3)*|x| where that leaves the domain, then one-sided)",
        fd_values,
        max_rel_error(fd_values, fd_ref) if names else None,
        against,
        one_sided,
        steps,
    )
    if one_sided:
        notes.append(
            f"the central stencil leaves the domain along {', '.join(one_sided)}: finite "
            "differences there are one-sided (same order)"
        )

    if names:
        h = np.array(hess, dtype=float)
        top = float(np.max(np.abs(h))) if h.size else 0.0
        asym = float(np.max(np.abs(h - h.T))) / max(1.0, top)
        eig = [float(x) for x in np.linalg.eigvalsh((h + h.T) / 2)]
    else:
        asym, eig = 0.0, []
    if asym > 1e-12:
        notes.append(
            f"the two reverse passes give H[i][j] and H[j][i] differing by {asym:.1e} "
            "(relative): round-off; eigenvalues are of (H + H^T)/2"
        )
    definiteness = classify(eig)
    if exact is not None and eig:
        note = _round_off_note(eig, exact, definiteness)
        if note:
            notes.append(note)
    stationary = (
        all(abs(g) <= STATIONARY * max(1.0, abs(ev.value)) for g in gradient) if names else None
    )
    return HessianReport(
        expression,
        point,
        names,
        ev.value,
        gradient,
        hess,
        texts,
        exact,
        fd,
        eig,
        definiteness,
        stationary,
        meaning(definiteness, stationary),
        max_rel_error(hess, exact) if exact is not None else None,
        asym,
        len(names),
        notes,
    )
