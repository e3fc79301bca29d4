"""Probe ``torch.autograd.Function`` subclasses: runs in the CHILD, returns plain data.

Everything here works on a loaded namespace (a module or a dict) and returns JSON-able data:
lists of numbers, shapes, dtypes and error descriptions with the user's own frames. Judging is
the parent's job (:mod:`gradcli.learner.tensor_judge`).

Two requests per Function:

- :func:`find` (``mode: "find"``): the Function's arguments, and which input families its
  ``forward`` accepts: the file's ``EXAMPLES[name]``, a ``--shapes`` override, or a search over
  small shape families (non-square, distinct sizes first, so that a missing transpose cannot
  hide).
- :func:`check` (``mode: "check"``): one family: ``forward``; the float64 numerical reference
  (gradcli's adaptive differences, Ridders' method, on ``<v, forward(x)>`` for a random
  ``grad_out`` v, with its error estimate; the full Jacobian by the 5-point stencil for small
  inputs); the user's ``backward`` called directly on the graph's ctx with v and with 2.5 v (raw
  results: count, shapes, dtypes, values); products of ``grad_out`` and the saved tensors that a
  matrix gradient could be; and with ``double`` the backward of backward against the numerical
  derivative of the user's own backward.

``phase(name, **known)`` announces each part as :mod:`gradcli.learner.probes` does
(``forward``, ``reference``, ``backward``, ``double_backward``), so a hang or a crash is blamed
on the method that was running. torch is imported only inside the functions.
"""

from __future__ import annotations

import inspect
import linecache
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

Phase = Callable[..., None]

#: the module-level name a file may use to give inputs: ``EXAMPLES = {"MatMul": lambda: (...)}``
EXAMPLES_NAME = "EXAMPLES"

#: the full Jacobian is computed when (inputs' elements) x (outputs' elements) is at most this
MAX_JACOBIAN = 4096
#: the entry-by-entry adaptive reference is computed when the inputs hold at most this many
#: elements (up to 30 forward calls each: a slow forward must still fit the time limit); larger
#: inputs are checked along random directions
MAX_ELEMENTS = 80
#: torch's seed before every call of forward (a dropout mask is the same at every call)
FORWARD_SEED = 19
#: random directions per input when it is too large for the entry-by-entry reference
DIRECTIONS = 3
#: gradients with more entries than this come back without their values
MAX_VALUES = 1_000_000
#: the factor applied to grad_out in the second backward call (a rule that ignores it shows)
SCALE = 2.5
#: the adaptive reference's steps start at this fraction of each entry's size
STEP_SCALE = 0.02
#: shape families checked per Function at most (the first that runs is the primary one)
MAX_FAMILIES = 3

#: ``(key, words, shapes for n tensor inputs)``; the first family whose forward runs is the
#: primary one. Non-square, distinct sizes everywhere: 3x4 with 4x5, never 3x3.
FAMILIES: tuple[tuple[str, str, Callable[[int], list[tuple[int, ...]] | None]], ...] = (
    ("matmul", "matrix-product shapes", lambda n: [(3, 4), (4, 5), (5,)][:n] if n >= 2 else None),
    ("linear", "x @ w.T shapes", lambda n: [(3, 4), (5, 4), (5,)][:n] if n >= 2 else None),
    ("row", "a row broadcast", lambda n: [(3, 4)] + [(4,)] * (n - 1) if n >= 2 else None),
    ("same2d", "the same shape for every input", lambda n: [(3, 4)] * n),
    ("batched", "batched matrix products", lambda n: [(2, 3, 4), (2, 4, 5)] if n == 2 else None),
    ("same3d", "the same 3-D shape for every input", lambda n: [(2, 3, 4)] * n),
    ("same1d", "vectors of one length", lambda n: [(5,)] * n),
    ("scalar", "scalars", lambda n: [()] * n),
)

#: values given to non-tensor parameters without a default, by name
PARAM_VALUES: dict[str, Any] = {
    "dim": 1,
    "axis": 1,
    "keepdim": False,
    "eps": 1e-5,
    "p": 2,
    "negative_slope": 0.1,
    "alpha": 0.5,
    "beta": 0.5,
    "scale": 0.5,
    "factor": 0.5,
    "n": 2,
    "k": 2,
    "exponent": 3,
}


class ProbeInputError(Exception):
    """The inputs given (EXAMPLES, --shapes) cannot be used; the message says why."""


# ---- finding the Functions ---------------------------------------------------------------------


def _vars(ns: Any) -> Mapping[str, Any]:
    return ns if isinstance(ns, Mapping) else vars(ns)


def find_functions(ns: Any) -> list[str]:
    """The names of the ``torch.autograd.Function`` subclasses defined in ``ns`` (not imported).

    Does not import torch: a file that never imported it defines no Function.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    base = torch.autograd.Function
    space = _vars(ns)
    module = space.get("__name__")
    out = []
    for name, obj in space.items():
        if (
            isinstance(obj, type)
            and issubclass(obj, base)
            and obj is not base
            and getattr(obj, "__module__", None) == module
            and "backward" in _own_attrs(obj)
        ):
            out.append(name)
    return out


def _own_attrs(cls: type) -> set[str]:
    """Attributes defined by the class or a user base class (not by torch's own classes)."""
    names: set[str] = set()
    for k in cls.__mro__:
        if (getattr(k, "__module__", "") or "").startswith("torch"):
            continue
        names.update(vars(k))
    return names


def parameters(cls: Any) -> list[dict[str, Any]]:
    """``forward``'s parameters after ``ctx``: name, has a default, annotation (as text)."""
    fwd = cls.forward
    try:
        sig = inspect.signature(fwd)
    except (TypeError, ValueError):
        return []
    params = list(sig.parameters.values())
    if "setup_context" not in _own_attrs(cls) and params:
        params = params[1:]  # ctx
    out = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
            continue
        ann = p.annotation
        ann_text = getattr(ann, "__name__", None) or ("" if ann is p.empty else str(ann))
        out.append({"name": p.name, "default": p.default is not p.empty, "annotation": ann_text})
    return out


def _is_value_param(p: Mapping[str, Any]) -> bool:
    ann = p["annotation"].lower()
    if ann in ("int", "float", "bool", "str") or "tuple" in ann:
        return True
    if "tensor" in ann:
        return False
    return p["name"] in PARAM_VALUES


# ---- inputs ------------------------------------------------------------------------------------


def _make_tensor(shape: Sequence[int], seed: int, positive: bool, device: str) -> Any:
    import torch

    gen = torch.Generator().manual_seed(seed)
    mag = 0.5 + torch.rand(tuple(shape), generator=gen, dtype=torch.float64)
    if not positive:  # both signs, away from 0 (kinks) and distinct
        sign = torch.where(torch.rand(tuple(shape), generator=gen) < 0.5, -1.0, 1.0)
        mag = mag * sign.to(torch.float64)
    return mag.to(device)


def build_args(
    params: Sequence[Mapping[str, Any]],
    shapes: Sequence[Sequence[int]],
    positive: bool,
    device: str,
) -> list[Any] | None:
    """Arguments for ``forward``: a tensor per tensor parameter (``shapes`` in order), a value
    per value parameter; ``None`` when the count of shapes does not fit."""
    tensor_params = [p for p in params if not p["default"] and not _is_value_param(p)]
    if len(shapes) != len(tensor_params):
        return None
    args: list[Any] = []
    k = 0
    for i, p in enumerate(params):
        if p["default"]:
            break  # later parameters keep their defaults
        if _is_value_param(p):
            ann = p["annotation"].lower()
            value = PARAM_VALUES.get(p["name"], 1 if ann == "int" else 0.5)
            args.append(value)
        else:
            args.append(_make_tensor(shapes[k], 1000 + 17 * i, positive, device))
            k += 1
    return args


def _example_args(ns: Any, name: str) -> list[list[Any]] | None:
    examples = _vars(ns).get(EXAMPLES_NAME)
    if not isinstance(examples, Mapping) or name not in examples:
        return None
    given = examples[name]
    items = given if isinstance(given, list) else [given]
    out = []
    for item in items:
        args = item() if callable(item) else item
        if not isinstance(args, (tuple, list)):
            args = (args,)
        out.append(list(args))
    return out


def prepare_args(args: Sequence[Any], device: str | None) -> list[Any]:
    """Fresh tensors: floating ones require grad, and are not leaves (a clone of a leaf), so
    that a forward that changes its input in place with ``ctx.mark_dirty`` may; everything
    else as given."""
    import torch

    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            t = a.detach().clone()
            if device is not None:
                t = t.to(device)
            if t.is_floating_point():
                t = t.requires_grad_(True).clone()
            out.append(t)
        else:
            out.append(a)
    return out


def describe_args(params: Sequence[Mapping[str, Any]], args: Sequence[Any]) -> list[dict[str, Any]]:
    import torch

    out = []
    for i, a in enumerate(args):
        name = params[i]["name"] if i < len(params) else f"arg{i}"
        if isinstance(a, torch.Tensor):
            out.append(
                {
                    "name": name,
                    "kind": "tensor",
                    "shape": list(a.shape),
                    "dtype": str(a.dtype).replace("torch.", ""),
                    "device": str(a.device),
                    "grad": bool(a.requires_grad),
                }
            )
        else:
            out.append({"name": name, "kind": "value", "repr": repr(a)[:40]})
    return out


def _args_for(
    ns: Any,
    cls: Any,
    name: str,
    params: Sequence[Mapping[str, Any]],
    family: Mapping[str, Any],
    device: str,
) -> list[Any]:
    if family["key"].startswith("example"):
        examples = _example_args(ns, name) or []
        index = int(family["key"].split(":")[1])
        return prepare_args(examples[index], device)
    args = build_args(params, family["shapes"], bool(family.get("positive")), device)
    if args is None:
        raise ProbeInputError(
            f"{name}.forward takes {sum(1 for p in params if not _is_value_param(p))} tensors; "
            f"{len(family['shapes'])} shapes were given"
        )
    return prepare_args(args, None)


# ---- running the user's code -------------------------------------------------------------------


def _apply(cls: Any, args: Sequence[Any]) -> Any:
    """``cls.apply(*args)`` with torch's random generator reset first, so that a forward that
    draws random numbers (dropout) draws the same ones every time the reference calls it."""
    import torch

    torch.random.default_generator.manual_seed(FORWARD_SEED)  # torch.manual_seed costs 100x
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(FORWARD_SEED)
    return cls.apply(*args)


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, tuple) else [out]


def _diff_outputs(outs: Sequence[Any]) -> list[int]:
    import torch

    return [
        k
        for k, o in enumerate(outs)
        if isinstance(o, torch.Tensor) and o.is_floating_point() and o.requires_grad
    ]


def _try_forward(cls: Any, args: Sequence[Any]) -> tuple[bool, str, bool]:
    """Does forward run on these args (and give finite, differentiable outputs)?"""
    import torch

    try:
        outs = _outputs(_apply(cls, args))
    except Exception as exc:  # the user's forward rejects these shapes
        return False, f"{type(exc).__name__}: {str(exc)[:160]}", False
    diff = _diff_outputs(outs)
    if not diff:
        return False, "no output is a floating tensor that needs a gradient", False
    finite = all(bool(torch.isfinite(outs[k].detach()).all()) for k in diff)
    return True, "", finite


def find(
    ns: Any, name: str, shapes: Sequence[Sequence[int]] | None, device: str, phase: Phase
) -> dict[str, Any]:
    """The Function's parameters and the input families its forward accepts."""
    cls = _vars(ns)[name]
    params = parameters(cls)
    phase("forward", params=params)
    families: list[dict[str, Any]] = []
    examples = _example_args(ns, name) if shapes is None else None
    if examples is not None:
        source = "examples"
        for i, ex in enumerate(examples):
            args = prepare_args(ex, device)
            ok, error, finite = _try_forward(cls, args)
            families.append(
                {
                    "key": f"example:{i}",
                    "words": f"{EXAMPLES_NAME}[{name!r}]",
                    "shapes": [list(a.shape) for a in args if hasattr(a, "shape")],
                    "ok": ok,
                    "error": error,
                    "finite": finite,
                }
            )
        return {"params": params, "source": source, "families": families}
    if shapes is not None:
        candidates = [("given", "--shapes", [tuple(s) for s in shapes])]
        source = "shapes"
    else:
        n = sum(1 for p in params if not p["default"] and not _is_value_param(p))
        candidates = []
        for key, words, make in FAMILIES:
            sh = make(n)
            if sh is not None and len(sh) == n:
                candidates.append((key, words, sh))
        source = "search"
    for key, words, sh in candidates:
        fam: dict[str, Any] = {"key": key, "words": words, "shapes": [list(s) for s in sh]}
        built = build_args(params, sh, False, device)
        if built is None:
            fam.update(ok=False, error="the shapes do not fit forward's tensor parameters")
            families.append(fam)
            continue
        ok, error, finite = _try_forward(cls, prepare_args(built, None))
        if ok and not finite:  # log, sqrt, ...: try positive inputs
            pos = build_args(params, sh, True, device)
            ok2, _, finite2 = _try_forward(cls, prepare_args(pos or [], None))
            if ok2 and finite2:
                fam["positive"] = True
                finite = True
        fam.update(ok=ok, error=error, finite=finite)
        families.append(fam)
        if sum(1 for f in families if f["ok"] and f["finite"]) >= MAX_FAMILIES:
            break
    return {"params": params, "source": source, "families": families}


def _flat(t: Any) -> list[float]:
    return [float(x) for x in t.detach().cpu().double().reshape(-1).tolist()]


def _describe_error(exc: BaseException, files: set[str]) -> dict[str, Any]:
    """Type, message and the traceback trimmed to the user's own frames (``files``)."""
    picked = []
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        fname = frame.f_code.co_filename
        if fname in files:
            picked.append((fname, lineno, frame.f_code.co_name))
    frames = [
        traceback.FrameSummary(Path(f).name, ln, fn, line=linecache.getline(f, ln).strip())
        for f, ln, fn in picked[-8:]
    ]
    text = ""
    if frames:
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    where = None
    if frames:
        last = frames[-1]
        where = {
            "file": last.filename,
            "line": last.lineno,
            "function": last.name,
            "code": (last.line or "").strip(),
        }
    msg = str(exc)
    return {
        "type": type(exc).__name__,
        "message": msg if len(msg) <= 300 else msg[:297] + "...",
        "traceback": text[:3000],
        "where": where,
    }


def _files(cls: Any) -> set[str]:
    out = set()
    try:
        src = inspect.getsourcefile(cls)
    except TypeError:
        src = None
    if src:
        out.add(src)
        folder = Path(src).resolve().parent
        out.update(str(p) for p in folder.glob("*.py"))
        out.update(str(p.resolve()) for p in folder.glob("*.py"))
    return out


def _arg_index(params: Sequence[Mapping[str, Any]], name: str) -> int:
    for i, p in enumerate(params):
        if p["name"] == name:
            return i
    return int(name[3:]) if name.startswith("arg") and name[3:].isdigit() else -1


def _snapshot(args: Sequence[Any]) -> list[Any]:
    import torch

    return [a.detach().clone() if isinstance(a, torch.Tensor) else None for a in args]


def _changed(
    params: Sequence[Mapping[str, Any]], args: Sequence[Any], before: Sequence[Any]
) -> list[str]:
    import torch

    out = []
    for i, (a, b) in enumerate(zip(args, before)):
        if isinstance(a, torch.Tensor) and b is not None:
            same = a.shape == b.shape and bool(torch.equal(a.detach(), b))
            if not same:
                out.append(params[i]["name"] if i < len(params) else f"arg{i}")
    return out


# ---- the numerical reference -------------------------------------------------------------------


class _Scalar:
    """``<w, outputs(x)>`` as gradcli's finite-difference methods want a function: one array per
    variable (an element of the flattened float inputs), one value per column."""

    def __init__(self, run: Callable[[Any], float]) -> None:
        self.run = run

    def __call__(self, *cols: Any) -> Any:
        import numpy as np

        mat = np.stack([np.asarray(c, dtype=float) for c in cols])
        if mat.ndim == 1:
            return np.asarray(self.run(mat))
        return np.array([self.run(mat[:, j]) for j in range(mat.shape[1])])


def _splitter(templates: Sequence[Any], device: str) -> Callable[[Any], list[Any]]:
    import torch

    sizes = [int(t.numel()) for t in templates]
    shapes = [tuple(t.shape) for t in templates]

    def split(vec: Any) -> list[Any]:
        t = torch.tensor(vec, dtype=torch.float64).to(device)  # a copy: forward may change it
        parts = []
        start = 0
        for n, s in zip(sizes, shapes):
            parts.append(t[start : start + n].reshape(s))
            start += n
        return parts

    return split


def _reference(
    value: Callable[[Any], float],
    outputs: Callable[[Any], list[Any]] | None,
    x0: Any,
    n_out: int,
    weights: Any = None,
) -> dict[str, Any]:
    """Adaptive (Ridders) gradient of ``value`` at ``x0``, with error estimates; the full
    Jacobian of ``outputs`` (5-point stencil, error = its distance from the central difference)
    when it is small."""
    import numpy as np

    from gradcli.methods import METHODS, combine, default_step, ridders

    # Ridders' method starts at a step of 0.5 in each variable; tensors' entries are of order
    # 1 and a step that large crosses the kinks of max or relu: differentiate along
    # x0 + STEP_SCALE * y at y = 0 instead, and scale the result back
    x0 = np.asarray(x0, dtype=float)
    s = STEP_SCALE * np.maximum(np.abs(x0), 0.1)
    f = _Scalar(lambda y: value(x0 + s * y))
    f0 = float(value(x0))
    est = ridders(cast(Any, f), [0.0] * len(x0), f0)
    vals = np.asarray(est.values, dtype=float) / s
    error = np.asarray(est.error, dtype=float) / s
    ref: dict[str, Any] = {
        "values": [float(v) for v in vals],
        "error": [float(e) if np.isfinite(e) else None for e in error],
        "evaluations": int(est.evaluations),
        "method": "Ridders' adaptive differences",
        "status": sorted(set(est.status or [])),
        "jacobian": None,
    }
    n = len(x0)
    if outputs is None or n * n_out > MAX_JACOBIAN:
        return ref
    m = METHODS["five_point"]
    cols, errs = [], []
    for j in range(n):
        h = default_step("five_point", float(x0[j]))
        xj = float(x0[j])
        h = (xj + h) - xj
        cache: dict[complex, Any] = {}

        def at(o: complex, j: int = j, h: float = h, cache: dict[complex, Any] = cache) -> Any:
            if o not in cache:
                x = np.array(x0, dtype=float)
                x[j] += float(o.real) * h
                cache[o] = np.concatenate([np.ravel(v) for v in outputs(x)])
            return cache[o]

        col = combine(m.terms, at, False) / (m.denominator * h)
        low = combine(m.check, at, False) / (m.denominator * h)
        cols.append(col)
        errs.append(np.abs(col - low))
    jac = np.stack(cols, axis=1)  # outputs x inputs
    jerr = np.stack(errs, axis=1)
    ref["jacobian"] = jac.tolist()
    ref["jacobian_error"] = float(np.max(jerr)) if errs else 0.0
    if weights is not None:  # entry by entry, the reference with the smaller error estimate
        w = np.asarray(weights, dtype=float)
        alt, alt_err = jac.T @ w, jerr.T @ np.abs(w)
        better = ~np.isfinite(error) | (alt_err < error)
        if better.any():
            vals = np.where(better, alt, vals)
            error = np.where(better, alt_err, error)
            ref["values"] = [float(v) for v in vals]
            ref["error"] = [float(e) if np.isfinite(e) else None for e in error]
            ref["method"] += " and the 5-point stencil"
    return ref


# ---- the check ---------------------------------------------------------------------------------


def check(
    ns: Any,
    name: str,
    family: Mapping[str, Any],
    phase: Phase,
    double: bool = False,
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """One family: forward, the numerical reference, the user's backward (and double backward)."""
    import numpy as np
    import torch

    cls = _vars(ns)[name]
    params = parameters(cls)
    files = _files(cls)
    args = _args_for(ns, cls, name, params, family, device)
    result: dict[str, Any] = {"function": name, "family": dict(family)}
    result["args"] = describe_args(params, args)
    grad_idx = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
    phase("forward", args=result["args"])
    initial = _snapshot(args)  # the inputs as they were (forward may change them in place)
    with _SaveSpy() as spy:
        outs = _outputs(_apply(cls, args))
    declared = spy.dirty(args)  # ctx.mark_dirty: changed in place, and said so
    result["forward_mutates"] = [
        n for n in _changed(params, args, initial) if _arg_index(params, n) not in declared
    ]
    diff = _diff_outputs(outs)
    result["outputs"] = [
        {
            "shape": list(o.shape),
            "dtype": str(o.dtype).replace("torch.", ""),
            "differentiable": k in diff,
        }
        if isinstance(o, torch.Tensor)
        else {"shape": None, "dtype": type(o).__name__, "differentiable": False}
        for k, o in enumerate(outs)
    ]
    gen = torch.Generator().manual_seed(seed + 7)
    vs: list[Any] = []
    for k, o in enumerate(outs):
        if k in diff:
            v = torch.randn(tuple(o.shape), generator=gen, dtype=torch.float64)
            vs.append(v.to(device=o.device, dtype=o.dtype))
        elif isinstance(o, torch.Tensor):
            vs.append(torch.zeros_like(o))  # what autograd hands a non-differentiable output
        else:
            vs.append(None)
    result["grad_out"] = [_flat(vs[k]) if k in diff else None for k in range(len(vs))]

    result["saved_mutated"] = spy.changed(outs, diff, args, params)

    # -- the reference: float64 copies of the inputs, the user's own forward
    phase("reference", args=result["args"])
    base = [initial[i].to(torch.float64) for i in grad_idx]
    x0 = np.concatenate([b.reshape(-1).cpu().numpy() for b in base]) if base else np.zeros(0)
    split = _splitter(base, device)

    def call(vec: Any) -> list[Any]:
        parts = split(vec)
        full = list(args)
        for i, p in zip(grad_idx, parts):
            full[i] = p
        with torch.no_grad():
            got = _outputs(_apply(cls, full))
        return [got[k].detach().to(torch.float64) for k in diff]

    weights = [vs[k].to(torch.float64) for k in diff]

    def value(vec: Any) -> float:
        return float(sum(float((o * w).sum()) for o, w in zip(call(vec), weights)))

    def outputs(vec: Any) -> list[Any]:
        return [o.cpu().numpy() for o in call(vec)]

    n_out = sum(int(outs[k].numel()) for k in diff)
    if 0 < len(x0) <= MAX_ELEMENTS:
        flat_w = np.concatenate([w.reshape(-1).cpu().numpy() for w in weights])
        result["reference"] = _reference(value, outputs, x0, n_out, flat_w)
    else:
        result["reference"] = None
        if len(x0):
            result["directional"] = _directional(value, x0, [int(b.numel()) for b in base], seed)

    # -- the user's backward, called directly on the graph's ctx (raw results)
    ctx = next((outs[k].grad_fn for k in diff), None)
    phase("backward", args=result["args"])
    before_backward = _snapshot(args)
    runs = []
    for factor in (1.0, SCALE):
        gos = [(v * factor).detach().clone() if v is not None else None for v in vs]
        try:
            with torch.no_grad():
                raw = cls.backward(ctx, *gos)
        except Exception as exc:
            runs.append({"error": _describe_error(exc, files)})
            break
        runs.append(_raw(raw, torch))
    result["backward"] = runs
    result["backward_mutates"] = _changed(params, args, before_backward)
    result["candidates"] = _candidates(ctx, args, params, grad_idx, vs, diff)

    if double:
        phase("double_backward", args=result["args"])
        fresh = [
            o.requires_grad_(True) if o is not None and i in grad_idx else a
            for i, (a, o) in enumerate(zip(args, initial))
        ]
        result["double"] = _double(cls, fresh, grad_idx, vs, diff, files, device, seed)
    return result


class _SaveSpy:
    """Remembers a copy of what ``ctx.save_for_backward`` is given, to tell afterwards whether a
    saved tensor was modified in place later in forward (torch does not notice that)."""

    def __enter__(self) -> _SaveSpy:
        from torch.autograd.function import FunctionCtx

        self.cls = FunctionCtx
        self.original = FunctionCtx.save_for_backward
        self.copies: list[Any] = []
        original = self.original
        copies = self.copies

        def spy(ctx: Any, *tensors: Any) -> Any:
            copies.append([t.detach().clone() if hasattr(t, "detach") else None for t in tensors])
            return original(ctx, *tensors)

        FunctionCtx.save_for_backward = spy  # type: ignore[method-assign,assignment]
        self.original_dirty = FunctionCtx.mark_dirty
        self.marked: list[Any] = []
        original_dirty = self.original_dirty
        marked = self.marked

        def dirty(ctx: Any, *tensors: Any) -> Any:
            marked.extend(tensors)
            return original_dirty(ctx, *tensors)

        FunctionCtx.mark_dirty = dirty  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        self.cls.save_for_backward = self.original  # type: ignore[method-assign]
        self.cls.mark_dirty = self.original_dirty  # type: ignore[method-assign]

    def dirty(self, args: Sequence[Any]) -> set[int]:
        """The positions of the arguments forward declared with ``ctx.mark_dirty``."""
        return {i for i, a in enumerate(args) if any(a is t for t in self.marked)}

    def changed(
        self,
        outs: Sequence[Any],
        diff: Sequence[int],
        args: Sequence[Any],
        params: Sequence[Mapping[str, Any]],
    ) -> list[str]:
        import torch

        ctx = next((outs[k].grad_fn for k in diff), None)
        if ctx is None or not self.copies:
            return []
        try:
            saved = list(ctx.saved_tensors)
        except Exception:  # torch itself says so when backward runs
            return []
        out = []
        for k, (now, then) in enumerate(zip(saved, self.copies[-1])):
            if not isinstance(now, torch.Tensor) or then is None:
                continue
            if now.shape != then.shape or not bool(torch.equal(now.detach(), then)):
                label = f"saved_tensors[{k}]"
                for i, a in enumerate(args):
                    if isinstance(a, torch.Tensor) and (now is a or _same_data(now, a)):
                        label += f" ({params[i]['name'] if i < len(params) else f'arg{i}'})"
                        break
                out.append(label)
        return out


def _directional(
    value: Callable[[Any], float], x0: Any, sizes: Sequence[int], seed: int
) -> list[dict[str, Any]]:
    """For inputs too large for an entry-by-entry reference: per input, the derivative of
    ``<v, forward(x + t u)>`` at t = 0 along DIRECTIONS random directions u (Ridders' method on
    one variable), which the user's backward must reproduce as ``<backward(v), u>``."""
    import numpy as np

    from gradcli.methods import ridders

    rng = np.random.default_rng(seed + 3)
    out = []
    start = 0
    x0 = np.asarray(x0, dtype=float)
    for n in sizes:
        dirs, vals, errs = [], [], []
        for _ in range(DIRECTIONS):
            u = np.zeros_like(x0)
            u[start : start + n] = rng.standard_normal(n)
            s = STEP_SCALE * max(float(np.max(np.abs(x0[start : start + n]))), 0.1)
            f = _Scalar(_along(value, x0, s * u))
            est = ridders(cast(Any, f), [0.0], float(value(x0)))
            dirs.append([float(x) for x in u[start : start + n]])
            vals.append(float(est.values[0]) / s)
            e = float(est.error[0])
            errs.append(e / s if np.isfinite(e) else None)
        out.append({"directions": dirs, "values": vals, "error": errs})
        start += n
    return out


def _along(value: Callable[[Any], float], x0: Any, step: Any) -> Callable[[Any], float]:
    """``t -> value(x0 + t * step)``, for a method that wants one variable."""
    import numpy as np

    def f(t: Any) -> float:
        return value(x0 + float(np.ravel(t)[0]) * step)

    return f


def _raw(raw: Any, torch: Any) -> dict[str, Any]:
    items = list(raw) if isinstance(raw, (tuple, list)) else [raw]
    grads: list[dict[str, Any]] = []
    for g in items:
        if g is None:
            grads.append({"kind": "none"})
        elif isinstance(g, torch.Tensor):
            grads.append(
                {
                    "kind": "tensor",
                    "shape": list(g.shape),
                    "dtype": str(g.dtype).replace("torch.", ""),
                    "device": str(g.device),
                    "values": _flat(g)
                    if g.numel() <= MAX_VALUES and g.device.type != "meta"
                    else None,
                }
            )
        else:
            grads.append({"kind": "other", "type": type(g).__name__, "repr": repr(g)[:60]})
    return {"tuple": isinstance(raw, (tuple, list)), "count": len(items), "grads": grads}


def _candidates(
    ctx: Any,
    args: Sequence[Any],
    params: Sequence[Mapping[str, Any]],
    grad_idx: Sequence[int],
    vs: Sequence[Any],
    diff: Sequence[int],
) -> dict[str, list[dict[str, Any]]]:
    """Products of grad_out and the saved tensors, transposed or not, that have an input's
    shape: what a matrix gradient could be. Keyed by the input's position."""
    import torch

    if ctx is None or len(diff) != 1:
        return {}
    g = vs[diff[0]]
    if g is None or g.dim() != 2:
        return {}
    named: list[tuple[str, Any]] = []
    try:
        saved = list(ctx.saved_tensors)
    except Exception:
        saved = []
    for k, s in enumerate(saved):
        label = f"saved_tensors[{k}]"
        for i, a in enumerate(args):
            if isinstance(a, torch.Tensor) and (s is a or _same_data(s, a)):
                label = params[i]["name"] if i < len(params) else f"arg{i}"
                break
        named.append((label, s))
    for attr, s in (getattr(ctx, "__dict__", None) or {}).items():
        if isinstance(s, torch.Tensor):
            named.append((f"ctx.{attr}", s))
    out: dict[str, list[dict[str, Any]]] = {}
    gs = [("grad_out", g), ("grad_out.T", g.T)]
    with torch.no_grad():
        for i in grad_idx:
            shape = tuple(args[i].shape)
            found: list[dict[str, Any]] = []
            seen: set[str] = set()
            for label, s in named:
                if not isinstance(s, torch.Tensor) or s.dim() != 2:
                    continue
                ss = [(label, s), (f"{label}.T", s.T)]
                pairs = [(a, b) for a in gs for b in ss] + [(b, a) for a in gs for b in ss]
                for (na, ta), (nb, tb) in pairs:
                    expr = f"{na} @ {nb}"
                    if expr in seen or ta.shape[1] != tb.shape[0]:
                        continue
                    if (ta.shape[0], tb.shape[1]) != shape:
                        continue
                    seen.add(expr)
                    prod = ta.to(torch.float64) @ tb.to(torch.float64)
                    found.append({"expr": expr, "values": _flat(prod)})
            if found:
                out[str(i)] = found[:8]
    return out


def _same_data(s: Any, a: Any) -> bool:
    try:
        return bool(s.shape == a.shape and s.data_ptr() == a.data_ptr())
    except Exception:
        return False


def _once_differentiable(cls: Any) -> bool:
    """Is backward wrapped by torch's ``once_differentiable`` (which refuses a second order)?"""
    fn = inspect.getattr_static(cls, "backward", None)
    fn = getattr(fn, "__func__", fn)
    if getattr(fn, "__wrapped__", None) is None:
        return False
    code = getattr(fn, "__code__", None)
    return code is not None and "torch" in Path(code.co_filename).parts


def _double(
    cls: Any,
    args: Sequence[Any],
    grad_idx: Sequence[int],
    vs: Sequence[Any],
    diff: Sequence[int],
    files: set[str],
    device: str,
    seed: int,
) -> dict[str, Any]:
    """Backward of backward: the gradient of ``<u, backward(x, v)>`` with respect to the inputs
    and to ``grad_out``, by autograd through the user's backward and numerically (float64)."""
    import numpy as np
    import torch

    if _once_differentiable(cls):
        return {"unsupported": "backward is marked @once_differentiable"}
    gen = torch.Generator().manual_seed(seed + 11)
    us = [torch.randn(tuple(args[i].shape), generator=gen, dtype=torch.float64) for i in grad_idx]
    xs = [args[i].detach().clone().requires_grad_(True) for i in grad_idx]
    ws = [vs[k].detach().clone().requires_grad_(True) for k in diff]

    def first(xs_: Sequence[Any], ws_: Sequence[Any], create: bool) -> Any:
        full = list(args)
        for i, x in zip(grad_idx, xs_):
            full[i] = x.clone()  # not a leaf: mark_dirty may change it
        outs = _outputs(_apply(cls, full))
        targets = [outs[k] for k in diff]
        gos = [w.to(t.dtype) for w, t in zip(ws_, targets)]
        grads = torch.autograd.grad(targets, list(xs_), gos, create_graph=create, allow_unused=True)
        total = torch.zeros((), dtype=torch.float64, device=xs_[0].device)
        for g, u in zip(grads, us):
            if g is not None:
                total = total + (g.to(torch.float64) * u.to(g.device)).sum()
        return total

    try:
        s = first(xs, ws, True)
        if not s.requires_grad:
            return {
                "unsupported": "backward's result does not depend on anything autograd "
                "can follow (it is computed without a graph)"
            }
        got = torch.autograd.grad(s, xs + ws, allow_unused=True)
    except Exception as exc:
        text = str(exc)
        if "once_differentiable" in text or "differentiate twice" in text:
            return {"unsupported": "backward is marked @once_differentiable"}
        return {"error": _describe_error(exc, files)}
    got_vals = [_flat(g) if g is not None else None for g in got]
    templates = [x.detach().to(torch.float64) for x in xs] + [
        w.detach().to(torch.float64) for w in ws
    ]
    split = _splitter(templates, device)
    x0 = np.concatenate([t.reshape(-1).cpu().numpy() for t in templates])

    def value(vec: Any) -> float:
        parts = split(vec)
        xs_ = [p.requires_grad_(True) for p in parts[: len(xs)]]
        ws_ = parts[len(xs) :]
        with torch.enable_grad():
            return float(first(xs_, ws_, False))

    ref = _reference(value, None, x0, 1) if len(x0) <= MAX_ELEMENTS else None
    names = [f"input {i}" for i in grad_idx] + [f"grad_out {k}" for k in diff]
    return {
        "names": names,
        "shapes": [list(t.shape) for t in templates],
        "got": got_vals,
        "reference": ref,
        "u": [_flat(u) for u in us],
    }


def run(ns: Any, req: Mapping[str, Any], phase: Phase) -> dict[str, Any]:
    """The worker's entry point for ``{"kind": "tensor_function", ...}`` requests.

    torch's warnings are silenced: the reference calls forward thousands of times, and a
    warning there is not the user's print. torch runs on one thread: the tensors are tiny, and
    a thread pool on a busy machine made each call thousands of times slower."""
    import warnings

    import torch

    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _run(ns, req, phase)


def _run(ns: Any, req: Mapping[str, Any], phase: Phase) -> dict[str, Any]:
    device = str(req.get("device") or "cpu")
    if req.get("mode") == "find":
        shapes = req.get("shapes")
        return find(ns, req["name"], shapes, device, phase)
    return check(
        ns,
        req["name"],
        req["family"],
        phase,
        double=bool(req.get("double")),
        device=device,
        seed=int(req.get("seed", 0)),
    )
