"""Expected values: gradcli's own engine and op table, and PyTorch in float64 when installed.

The same program (:mod:`gradcli.learner.programs`) that ran on the learner's ``Value`` runs here
on gradcli's :class:`~gradcli.engine.Value` (the value and, by ``backward()``, the gradient of
each input) and, when torch is installed and wanted, on float64 tensors. Only ``data``, ``grad``
and ``backward()`` of gradcli's Value are used. torch is imported only when first needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli.learner.programs import Program, exercise_f

#: the learner's number matches the expected one when |got - want| <= RTOL*|want| + ATOL
RTOL = 1e-9
ATOL = 1e-12


def close(got: float | None, want: float | None, rtol: float = RTOL, atol: float = ATOL) -> bool:
    if got is None or want is None:
        return False
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want) or math.isinf(got):
        return got == want
    return abs(got - want) <= rtol * abs(want) + atol


@dataclass
class Ref:
    """The expected value and gradient of one program at one point."""

    data: float
    grads: list[float]
    torch_data: float | None = None
    torch_grads: list[float] | None = None


@dataclass
class References:
    """Where expected values come from, and the cache of the ones computed so far."""

    use_torch: bool = True
    torch_status: str = "unused"  # "unused", "used", "off", "missing"
    torch_version: str = ""
    disagreements: list[str] = field(default_factory=list)
    _torch: Any = None
    _cache: dict[tuple[str, tuple[float, ...]], Ref] = field(default_factory=dict)

    def torch(self) -> Any:
        """The torch module, or None (not installed, or not wanted)."""
        if self._torch is not None:
            return self._torch
        if not self.use_torch:
            self.torch_status = "off"
            return None
        if self.torch_status == "missing":
            return None
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            self.torch_status = "missing"
            return None
        import torch

        self._torch = torch
        self.torch_status = "used"
        self.torch_version = str(torch.__version__).split("+")[0]
        return torch

    def describe(self) -> str:
        """The references in words, for the report."""
        base = "gradcli's engine and op table (exact rules)"
        if self.torch_status == "used":
            return f"{base} and PyTorch {self.torch_version} (float64)"
        if self.torch_status == "missing":
            return (
                f"{base}; PyTorch is not installed (pip install 'gradcli[torch]' adds it; in a "
                "checkout: pip install -e '.[torch]')"
            )
        if self.torch_status == "off":
            return f"{base}; PyTorch not used (--no-torch)"
        return base

    # ---- programs ------------------------------------------------------------------------------
    def program(self, prog: Program, point: Sequence[float]) -> Ref:
        key = (prog.key, tuple(point))
        if key not in self._cache:
            self._cache[key] = self._compute(prog.fn, point, prog.name)
        return self._cache[key]

    def _compute(self, fn: Callable[..., Any], point: Sequence[float], name: str) -> Ref:
        from gradcli.engine import Value

        leaves = [Value(float(x)) for x in point]
        out = fn(*leaves)
        out.backward()
        ref = Ref(float(out.data), [float(v.grad) for v in leaves])
        torch = self.torch()
        if torch is not None:
            ts = [torch.tensor(float(x), dtype=torch.float64, requires_grad=True) for x in point]
            tout = fn(*ts)
            tout.backward()
            ref.torch_data = float(tout.item())
            ref.torch_grads = [float(t.grad.item()) if t.grad is not None else 0.0 for t in ts]
            pairs = [(ref.data, ref.torch_data), *zip(ref.grads, ref.torch_grads)]
            if not all(close(a, b, 1e-8, 1e-10) for a, b in pairs):
                self.disagreements.append(f"{name} at {list(point)}")
        return ref

    def gradf(self, point: Sequence[float]) -> Ref:
        key = ("gradf", tuple(point))
        if key not in self._cache:
            self._cache[key] = self._compute(exercise_f, point, "f(a, b, c)")
        return self._cache[key]

    # ---- softmax and nll -----------------------------------------------------------------------
    def softmax(self, logits: Sequence[float]) -> list[float]:
        from gradcli.engine import Value
        from gradcli.nn import softmax

        probs = [p.data for p in softmax([Value(float(x)) for x in logits])]
        torch = self.torch()
        if torch is not None:
            t = torch.softmax(torch.tensor(list(logits), dtype=torch.float64), dim=0).tolist()
            if not all(close(a, b, 1e-8, 1e-12) for a, b in zip(probs, t)):
                self.disagreements.append(f"softmax{list(logits)}")
        return probs

    def softmax_nll_grad(self, logits: Sequence[float], target: int) -> tuple[float, list[float]]:
        """The loss -log softmax(x)[t] and its gradient p - onehot(t) (gradcli's cross_entropy,
        checked against torch.nn.functional.cross_entropy)."""
        from gradcli.engine import Value
        from gradcli.nn import cross_entropy

        xs = [Value(float(x)) for x in logits]
        loss = cross_entropy(xs, target)
        loss.backward()
        value, grads = float(loss.data), [float(x.grad) for x in xs]
        torch = self.torch()
        if torch is not None:
            t = torch.tensor(list(logits), dtype=torch.float64, requires_grad=True)
            tl = torch.nn.functional.cross_entropy(t.unsqueeze(0), torch.tensor([target]))
            tl.backward()
            tg = t.grad.tolist()
            if not close(value, float(tl.item()), 1e-8) or not all(
                close(a, b, 1e-8, 1e-12) for a, b in zip(grads, tg)
            ):
                self.disagreements.append(f"cross_entropy{list(logits)}")
        return value, grads

    def nll(self, probs: Sequence[float], target: int) -> tuple[float, list[float]]:
        """-log(p[t]) and its gradient with respect to each p (-1/p[t] at t, 0 elsewhere)."""
        from gradcli.engine import Value

        ps = [Value(float(p)) for p in probs]
        loss = -ps[target].log()
        loss.backward()
        return float(loss.data), [float(p.grad) for p in ps]
