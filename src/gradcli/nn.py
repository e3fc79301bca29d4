"""Classification losses on lists of :class:`~gradcli.engine.Value`, and ``gradcli softmax``.

* :func:`logsumexp` is one node of the op table's n-ary ``logsumexp`` op: shifted by the maximum,
  so it never overflows, and its local derivatives are the softmax.
* :func:`log_softmax` is ``x_i - logsumexp(x)`` (never positive, so never overflowing),
  :func:`softmax` is ``exp`` of it (never above 1).
* :func:`cross_entropy` (alias :func:`nll`) takes **logits** and a target index and returns
  ``logsumexp(x) - x[target]``, the negative log-likelihood of the target under ``softmax(x)``,
  like ``torch.nn.functional.cross_entropy``. (PyTorch's ``nll_loss`` takes log-probabilities
  instead; here both names take logits.) Its gradient is ``softmax(x) - onehot(target)``.

Logits such as 1000, 1001, 1002 or -1000, 0, 1000 give finite, correct losses and gradients.

:func:`softmax_report` is what ``gradcli softmax`` shows: the loss and, per class, the gradient
by reverse mode beside the closed form, a central-difference estimate (vectorised with numpy) and
PyTorch's. numpy and torch are imported only inside the functions that need them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli.engine import Operand, Value, apply
from gradcli.errors import DomainError
from gradcli.ops import OPS

_LOGSUMEXP = OPS["logsumexp"]


def _values(xs: Sequence[Operand]) -> tuple[Value, ...]:
    vs = tuple(x if isinstance(x, Value) else Value(float(x)) for x in xs)
    if not vs:
        raise ValueError("needs at least one logit")
    return vs


def logsumexp(xs: Sequence[Operand]) -> Value:
    """``log(sum(exp(x_i)))`` as one node; d/dx_i is ``softmax(x)_i``."""
    return apply(_LOGSUMEXP, _values(xs))


def _shifted(vs: tuple[Value, ...]) -> tuple[Value, ...]:
    # x_i - max(x), the maximum taken as a constant: the losses and their gradients are exactly
    # invariant under the shift, and subtracting first keeps the small differences between
    # large logits (1e6 and 1e6 + 1) from being rounded away inside logsumexp(x) - x_t.
    m = max(v.data for v in vs)
    return tuple(v - m for v in vs) if m != 0.0 else vs


def log_softmax(xs: Sequence[Operand]) -> list[Value]:
    """``x_i - logsumexp(x)`` for each i (computed after shifting every x_i by ``max(x)``)."""
    d = _shifted(_values(xs))
    lse = apply(_LOGSUMEXP, d)
    return [v - lse for v in d]


def softmax(xs: Sequence[Operand]) -> list[Value]:
    """``exp(x_i) / sum(exp(x))`` for each i, computed as ``exp(log_softmax(x)_i)``."""
    return [v.exp() for v in log_softmax(xs)]


def _target_index(target: int, n: int) -> int:
    if isinstance(target, bool) or not isinstance(target, int):
        raise TypeError(f"the target must be an int class index, got {type(target).__name__}")
    if not 0 <= target < n:
        raise IndexError(f"target {target} is out of range for {n} classes (0 to {n - 1})")
    return target


def cross_entropy(logits: Sequence[Operand], target: int) -> Value:
    """``logsumexp(logits) - logits[target]``: the NLL of ``target`` under ``softmax(logits)``.

    Computed on the logits shifted by their maximum (which changes neither the loss nor its
    gradient), so logits such as 1e6 and 1e6 + 1 keep their full precision.
    """
    d = _shifted(_values(logits))
    return apply(_LOGSUMEXP, d) - d[_target_index(target, len(d))]


#: the negative log-likelihood of the target; the same function as :func:`cross_entropy`
#: (it takes logits, not log-probabilities)
nll = cross_entropy


# ---- gradcli softmax ----------------------------------------------------------------------------

#: the classic exercise, run when the command is given no logits
EXAMPLE_LOGITS = (0.0, 3.0, -2.0, 1.0)
EXAMPLE_TARGET = 3

#: how far each column may be from reverse mode before the verdict says they disagree
#: (absolute; every entry lies in [-1, 1]). The finite-difference bound grows for logits so
#: large that the step must grow with them (see :func:`fd_tolerance`).
TOLERANCE = {"closed_form": 1e-12, "finite_difference": 1e-6, "torch": 1e-12}

#: the columns that are compared with reverse mode, in the order they are shown
COLUMNS = ("closed_form", "finite_difference", "torch")


@dataclass
class Naive:
    """The textbook ``exp(x_i) / sum(exp(x))``, evaluated directly in floating point."""

    probs: list[float | None]  # None where the formula gives no number (inf/inf or 0/0)
    problem: str | None  # what went wrong, in words; None when every entry is a number


@dataclass
class SoftmaxReport:
    logits: list[float]
    target: int
    loss: float
    probs: list[float]
    gradient: list[float]  # reverse mode through the Value graph
    closed_form: list[float]  # probs - onehot(target)
    finite_difference: list[float | None]  # central differences; None where not computable
    torch: list[float] | None  # torch.nn.functional.cross_entropy in float64, by autograd
    torch_status: str = "ok"  # "ok" | "skipped" (--no-torch) | "missing" (not installed)
    naive: Naive | None = None
    deviation: dict[str, float] = field(default_factory=dict)  # column -> max |col - gradient|
    within: dict[str, bool] = field(default_factory=dict)  # column -> within its tolerance

    @property
    def agree(self) -> bool:
        return all(self.within.values())

    @property
    def fd_missing(self) -> list[int]:
        """The classes whose central difference could not be computed (a step overflows)."""
        return [i for i, d in enumerate(self.finite_difference) if d is None]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "logits": self.logits,
            "target": self.target,
            "loss": self.loss,
            "probs": self.probs,
            "gradient": self.gradient,
            "closed_form": self.closed_form,
            "finite_difference": self.finite_difference,
            "torch": self.torch,
        }
        if self.naive is not None:
            out["naive"] = self.naive.probs
        return out


def softmax_report(
    logits: Sequence[float], target: int, *, use_torch: bool = True, naive: bool = False
) -> SoftmaxReport:
    """The cross-entropy loss of ``target`` and its gradient four ways, compared.

    Raises ValueError / IndexError for no logits, a non-finite logit or a target out of
    range (the command checks these first, with friendlier messages), and
    :class:`DomainError` when the loss or a column is not finite.
    """
    xs = [float(x) for x in logits]
    if not xs:
        raise ValueError("needs at least one logit")
    if not all(math.isfinite(x) for x in xs):
        raise ValueError("every logit must be a finite number")
    t = _target_index(target, len(xs))

    leaves = [Value(x) for x in xs]
    loss = cross_entropy(leaves, t)
    if not math.isfinite(loss.data):
        raise DomainError(
            f"the loss overflows: logsumexp of the logits minus logit {t} is too large for a float",
            hint="the logits are too far apart; scale them down",
        )
    loss.backward()
    gradient = [float(v.grad) for v in leaves]
    probs = [float(p.data) for p in softmax(xs)]
    closed = [p - (1.0 if i == t else 0.0) for i, p in enumerate(probs)]
    fd = central_difference(xs, t)
    torch_grad: list[float] | None = None
    status = "skipped"
    if use_torch:
        try:
            torch_grad = torch_gradient(xs, t)
            status = "ok"
        except ImportError:
            status = "missing"

    columns: dict[str, Sequence[float | None]] = {"closed_form": closed, "finite_difference": fd}
    if torch_grad is not None:
        columns["torch"] = torch_grad
    fd_tol = fd_tolerance(xs)
    deviation: dict[str, float] = {}
    within: dict[str, bool] = {}
    for name, col in columns.items():
        if name != "finite_difference" and not all(c is not None and math.isfinite(c) for c in col):
            raise DomainError(
                f"the {name.replace('_', ' ')} column is not finite",
                hint="scale the logits down (softmax only sees their differences)",
            )
        tols = fd_tol if name == "finite_difference" else [TOLERANCE[name]] * len(col)
        # a central difference that could not be computed (None) is left out, not a mismatch
        errors = [
            (abs(c - g), tol)
            for c, g, tol in zip(col, gradient, tols, strict=True)
            if c is not None
        ]
        if not errors:
            continue
        deviation[name] = max(e for e, _ in errors)
        within[name] = all(e <= tol for e, tol in errors)
    return SoftmaxReport(
        xs,
        t,
        float(loss.data),
        probs,
        gradient,
        closed,
        fd,
        torch_grad,
        status,
        naive_softmax(xs) if naive else None,
        deviation,
        within,
    )


def central_difference(logits: Sequence[float], target: int) -> list[float | None]:
    """d loss / d x_i for every i by central differences, in O(n) numpy operations.

    The loss at ``x ± h e_i`` is evaluated as ``logaddexp(log S_i, x_i ± h - m) - (x_t - m)``,
    where ``m = max(x)`` and ``S_i`` is the sum of ``exp(x_j - m)`` over the other classes (from
    prefix and suffix sums: no cancellation, and no Python loop over classes); ``logaddexp``
    never overflows, however far the step takes ``x_i`` above ``m``. The difference is divided
    by the step actually taken, ``(x_i + h) - (x_i - h)`` in floating point. None where that
    step itself overflows (a logit within a few units in the last place of the largest float).
    """
    import numpy as np

    x = np.asarray(logits, dtype=np.float64)
    h = steps(x)
    with np.errstate(all="ignore"):  # log(0) = -inf is wanted; non-finite results become None
        m = float(x.max())
        e = np.exp(x - m)
        prefix = np.concatenate(([0.0], np.cumsum(e)[:-1]))  # sum of e[:i]
        suffix = np.concatenate((np.cumsum(e[::-1])[::-1][1:], [0.0]))  # sum of e[i + 1:]
        log_others = np.log(prefix + suffix)
        up = x + h
        down = x - h
        taken = up - down
        diff = np.logaddexp(log_others, up - m) - np.logaddexp(log_others, down - m)
        # minus the target's logit, which moves only when the target itself is perturbed
        diff[target] -= taken[target]
        quotient = diff / taken
    return [float(d) if math.isfinite(d) else None for d in quotient]


def steps(x: Any) -> Any:
    """The central-difference step per logit (a numpy array): the cube root of the machine
    epsilon, or 4 units in the last place of the logit where that is larger (|x| > ~1e10)."""
    import numpy as np

    with np.errstate(over="ignore"):  # the spacing of the largest float is inf: no step fits
        return np.maximum(np.cbrt(np.finfo(np.float64).eps), 4.0 * np.spacing(np.abs(x)))


def fd_tolerance(logits: Sequence[float]) -> list[float]:
    """How far each central difference may be from the exact gradient: 1e-6, or the truncation
    error h**2 / 6 * |f'''| (|f'''| <= 0.1 for this loss) where a huge logit forces a big step."""
    import numpy as np

    h = steps(np.asarray(logits, dtype=np.float64))
    with np.errstate(over="ignore"):
        bound = np.maximum(TOLERANCE["finite_difference"], 0.1 * h * h)
    return [float(b) for b in bound]


def torch_gradient(logits: Sequence[float], target: int) -> list[float]:
    """``torch.nn.functional.cross_entropy`` in float64, differentiated by autograd.

    Raises ImportError when torch is not installed.
    """
    import torch

    x = torch.tensor([list(logits)], dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(x, torch.tensor([target]))
    loss.backward()
    assert x.grad is not None
    return [float(g) for g in x.grad[0].tolist()]


def naive_softmax(logits: Sequence[float]) -> Naive:
    """``exp(x_i) / sum(exp(x))`` with no shift: it overflows once a logit passes 709.78, and
    gives 0/0 when every logit is below about -745."""
    exps: list[float] = []
    for x in logits:
        try:
            exps.append(math.exp(x))
        except OverflowError:
            exps.append(math.inf)
    total = sum(exps)
    broken = math.isinf(total) or total == 0.0
    probs: list[float | None] = [None if broken else v / total for v in exps]
    problem = None
    if math.isinf(total):
        big = sum(math.isinf(v) for v in exps)
        where = (
            f"exp overflows for {big} logit{'s' if big != 1 else ''} above 709.78"
            if big
            else "the sum of exp overflows"
        )
        problem = f"{where}: inf/inf is not a number"
    elif total == 0.0:
        problem = "exp underflows to 0 for every logit (all below about -745): 0/0 is not a number"
    return Naive(probs, problem)
