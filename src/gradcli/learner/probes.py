"""What the child process does with the learner's objects: small steps that return numbers.

Everything here runs in the child (see :mod:`gradcli.learner.worker`) on the learner's classes
and functions. A probe builds a tiny graph or calls a function and reports plain numbers
(``data``, ``grad``) and, for the learner's graph, its shape (``_prev`` and ``_op``). Judging
them is the parent's job (:mod:`gradcli.learner.diagnose`). ``phase`` tells the parent what is
running now, so that a hang or a crash can be blamed on the right part.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from gradcli.learner.adapter import Adapter
from gradcli.learner.programs import FD_FUNCTIONS, PROGRAMS, Program

Phase = Callable[..., None]  # phase(name, **what is known so far)

#: the grads given to the inputs before a node's ``_backward`` runs (a ``=`` where ``+=``
#: belongs shows; zeroed inputs would hide it), and the out.grad it is handed (not 1, so a rule
#: that ignores out.grad shows)
PRE_GRADS = (0.3, -0.2, 0.45, 0.15, -0.35)
UPSTREAM = 0.7

#: most nodes described or walked by a probe (the learner's graph may be anything)
MAX_NODES = 20_000


class ProbeError(Exception):
    """The learner's code gave back something a probe cannot use; the message says what."""


def number(x: Any, what: str) -> float:
    """``x`` as a float, or a ProbeError that says what ``x`` was."""
    if isinstance(x, (str, bytes)) or x is None:
        raise ProbeError(f"{what} is {_kind(x)}, not a number")
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        raise ProbeError(f"{what} is {_kind(x)}, not a number") from None


def _kind(x: Any) -> str:
    if x is None:
        return "None"
    name = type(x).__name__
    return f"a {name}" if name[0] not in "aeiouAEIOU" else f"an {name}"


def data_of(A: Adapter, out: Any, what: str) -> float:
    if not isinstance(out, A.cls):
        raise ProbeError(f"{what} returned {_kind(out)}, not a {A.cls.__name__}")
    return number(A.data(out), f"{what}.{A.names['data']}")


def grad_of(A: Adapter, v: Any, what: str) -> float:
    return number(A.grad(v), f"{what}.{A.names.get('grad', 'grad')}")


def topo(A: Adapter, out: Any) -> list[Any]:
    """gradcli's own topological order of the learner's graph (inputs first), iterative."""
    order: list[Any] = []
    seen = {id(out)}
    stack: list[tuple[Any, list[Any]]] = [(out, A.children(out))]
    while stack:
        node, kids = stack[-1]
        if kids:
            kid = kids.pop(0)
            if id(kid) not in seen:
                seen.add(id(kid))
                stack.append((kid, A.children(kid)))
                if len(seen) > MAX_NODES:
                    raise ProbeError(f"the graph has more than {MAX_NODES:,} nodes")
        else:
            stack.pop()
            order.append(node)
    return order


# ---- watching the learner's methods ------------------------------------------------------------


def method_of(qualname: str, cls_name: str) -> str:
    """``Value.__mul__.<locals>._backward`` -> ``__mul__``; ``exp`` (a patched function) ->
    ``exp``; ``Value.backward.<locals>.build_topo`` -> ``backward``."""
    parts = [p for p in qualname.split(".") if p != "<locals>"]
    if len(parts) > 1 and parts[0] == cls_name:
        return parts[1]
    return parts[0] if parts else qualname


class Recorder:
    """While active: which of the learner's functions ran (in order, each once) and which of
    them made each new node (the innermost one that returned it)."""

    def __init__(self, A: Adapter) -> None:
        self.A = A
        self.calls: list[str] = []
        self.made: dict[int, str] = {}
        self._keep: list[Any] = []  # the nodes whose ids are recorded stay alive
        self._codes: dict[Any, str | None] = {}

    def _name(self, code: Any) -> str | None:
        name = self._codes.get(code, "")
        if name == "":
            name = None
            if MINE(code.co_filename):
                q = getattr(code, "co_qualname", code.co_name)
                name = method_of(q, self.A.cls.__name__)
            self._codes[code] = name
        return name

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            name = self._name(frame.f_code)
            if name is not None and name not in self.calls:
                self.calls.append(name)
        elif event == "return" and isinstance(arg, self.A.cls) and id(arg) not in self.made:
            name = self._name(frame.f_code)
            if name is not None:
                self.made[id(arg)] = name
                self._keep.append(arg)

    def __enter__(self) -> Recorder:
        sys.setprofile(self)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)


def MINE(filename: str) -> bool:
    return False


def set_mine(fn: Callable[[str], bool]) -> None:
    global MINE
    MINE = fn  # type: ignore[assignment]


def _snapshot(A: Adapter, v: Any) -> dict[str, Any]:
    """What a forward pass must not change on an input: its number, its step, its inputs."""
    out: dict[str, Any] = {}
    for role in ("data", "step", "children"):
        name = A.names.get(role)
        if name is None:
            continue
        try:
            val = getattr(v, name)
        except AttributeError:
            continue
        if callable(val):
            val = getattr(val, "__func__", val)  # a bound method is a new object each time
            out[name] = id(val)
        elif role == "children":
            out[name] = id(val)
        else:
            out[name] = _maybe_number(val)
    return out


# ---- programs ----------------------------------------------------------------------------------


def build(A: Adapter, point: Sequence[float], phase: Phase) -> list[Any]:
    phase("construct")
    return [A.make(float(x)) for x in point]


def forward(A: Adapter, prog: Program, leaves: list[Any], phase: Phase) -> tuple[Any, Recorder]:
    phase("forward")
    before = [_snapshot(A, v) for v in leaves]
    with Recorder(A) as rec:
        out = prog.fn(*leaves)
    changed = []
    for i, (v, b) in enumerate(zip(leaves, before)):
        after = _snapshot(A, v)
        for name in b:
            if after.get(name) != b[name] and v is not out:
                changed.append([prog.leaves[i], name])
    if changed:
        phase("forward", calls=rec.calls, changed=changed)
        leaf, name = changed[0]
        raise InputChanged(leaf, name, rec.calls)
    return out, rec


class InputChanged(ProbeError):
    """A forward op changed one of its inputs (``self._backward = ...`` where ``out._backward``
    belongs)."""

    def __init__(self, leaf: str, attr: str, calls: list[str]) -> None:
        super().__init__(f"computing the result changed {leaf}.{attr}")
        self.leaf, self.attr, self.calls = leaf, attr, calls


def run_program(
    A: Adapter, key: str, point: Sequence[float], mode: str, phase: Phase
) -> dict[str, Any]:
    """Run program ``key`` at ``point`` on the learner's class; ``mode`` says how far."""
    prog = PROGRAMS[key]
    if mode == "trace":
        return _trace(A, prog, point, phase)
    leaves = build(A, point, phase)
    out, rec = forward(A, prog, leaves, phase)
    result: dict[str, Any] = {"data": data_of(A, out, prog.name), "calls": rec.calls}
    if mode == "forward":
        return result
    if mode == "backward":
        with Recorder(A) as back:
            _call_backward(A, out, phase, data=result["data"], calls=rec.calls)
        result["back_calls"] = back.calls  # what backward() ran: for coverage only
        result["out_grad"] = grad_of(A, out, "the output")
        result["grads"] = [grad_of(A, v, n) for v, n in zip(leaves, prog.leaves)]
        return result
    if mode == "repeat":
        _call_backward(A, out, phase)
        first = [grad_of(A, v, n) for v, n in zip(leaves, prog.leaves)]
        _call_backward(A, out, phase)
        second = [grad_of(A, v, n) for v, n in zip(leaves, prog.leaves)]
        result.update(first=first, second=second)
        return result
    if mode == "local":
        return {**result, **_local(A, out, leaves, prog, rec, phase)}
    raise ValueError(f"unknown mode {mode!r}")


def _call_backward(A: Adapter, out: Any, phase: Phase, **known: Any) -> None:
    phase("backward", **known)
    A.backward(out)


def _local(
    A: Adapter, out: Any, leaves: list[Any], prog: Program, rec: Recorder, phase: Phase
) -> dict[str, Any]:
    """The lecture's step by hand: each node's own step, in gradcli's order.

    The inputs hold non-zero grads first and the output is handed ``UPSTREAM``; what each input
    gained is what the learner's local rules passed down.
    """
    nodes = describe(A, out, leaves, rec)
    if A.step(out) is None or "grad" not in A.names:
        return {"has_backward": False, "nodes": nodes}
    order = topo(A, out) if A.has_graph() else [out]
    leaf_ids = {id(v) for v in leaves}
    if id(out) in leaf_ids:
        raise ProbeError(f"{prog.name} returned one of its inputs, not a new {A.cls.__name__}")
    pre = list(PRE_GRADS[: len(leaves)])
    for v, g in zip(leaves, pre):
        A.set_grad(v, g)
    for node in order:
        if id(node) not in leaf_ids:
            A.set_grad(node, 0.0)
    A.set_grad(out, UPSTREAM)
    phase("_backward", data=data_of(A, out, prog.name), nodes=nodes, calls=rec.calls)
    for node in reversed(order):
        if id(node) in leaf_ids:
            continue
        step = A.step(node)
        if step is not None:
            step()
    return {
        "has_backward": True,
        "pre": pre,
        "final": [grad_of(A, v, n) for v, n in zip(leaves, prog.leaves)],
        "nodes": nodes,
    }


def describe(A: Adapter, out: Any, leaves: list[Any], rec: Recorder | None = None) -> list[Any]:
    """The learner's graph between ``out`` and the inputs: each inner node's op label, value,
    inputs (``["leaf", i]``, ``["node", j]`` or ``["const", value]``) and the method that made
    it (from the recorder)."""
    if not A.has_graph():
        return []
    leaf_index = {id(v): i for i, v in enumerate(leaves)}
    inner = [n for n in topo(A, out) if id(n) not in leaf_index and (A.children(n) or n is out)]
    index = {id(n): j for j, n in enumerate(inner)}
    nodes = []
    for n in inner[:200]:
        refs: list[list[Any]] = []
        for kid in A.children(n):
            if id(kid) in leaf_index:
                refs.append(["leaf", leaf_index[id(kid)]])
            elif id(kid) in index:
                refs.append(["node", index[id(kid)]])
            else:
                refs.append(["const", _maybe_number(_safe_data(A, kid))])
        nodes.append(
            {
                "op": A.op(n),
                "data": _maybe_number(_safe_data(A, n)),
                "children": refs,
                "made_by": rec.made.get(id(n)) if rec is not None else None,
            }
        )
    return nodes


def _safe_data(A: Adapter, v: Any) -> Any:
    try:
        return A.data(v)
    except Exception:
        return None


def _maybe_number(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return None


def _trace(A: Adapter, prog: Program, point: Sequence[float], phase: Phase) -> dict[str, Any]:
    """How the learner's backward() walks the graph, watched node by node.

    Every node's step is wrapped to record when it runs, then their backward() is called: a
    node run twice (no visited set), a node run before all the nodes that use it have passed
    their gradient down (a wrong order), a node never run. ``ours`` is the learner's own rules
    walked in gradcli's order, on a fresh graph: it tells a wrong rule from a wrong walk.
    """
    leaves = build(A, point, phase)
    out, _rec = forward(A, prog, leaves, phase)
    if A.step(out) is None or not A.has_graph() or "grad" not in A.names:
        return {"has_backward": False}
    A.set_grad(out, 1.0)
    phase("_backward")
    leaf_ids = {id(v) for v in leaves}
    for node in reversed(topo(A, out)):
        step = A.step(node)
        if step is not None and id(node) not in leaf_ids:
            step()
    ours = [grad_of(A, v, n) for v, n in zip(leaves, prog.leaves)]

    leaves = build(A, point, phase)
    out, _rec = forward(A, prog, leaves, phase)
    order = topo(A, out)
    index = {id(n): i for i, n in enumerate(order)}
    users: dict[int, list[int]] = {i: [] for i in range(len(order))}
    for i, n in enumerate(order):
        for kid in A.children(n):
            users[index[id(kid)]].append(i)
    calls: list[int] = []
    try:
        for i, node in enumerate(order):
            step = A.step(node)
            if step is not None:
                A.set_step(node, _recorder(step, i, calls))
    except (AttributeError, TypeError):
        return {"has_backward": False}
    _call_backward(A, out, phase)
    grads = [grad_of(A, v, n) for v, n in zip(leaves, prog.leaves)]
    inner = [i for i, n in enumerate(order) if A.children(n)]
    counts = {i: calls.count(i) for i in inner}
    label = lambda i: A.op(order[i]) or "?"  # noqa: E731
    twice = next((i for i in inner if counts[i] > 1), None)
    early = None
    done: set[int] = set()
    for i in calls:
        waiting = [u for u in users[i] if u not in done and A.children(order[u])]
        if waiting and early is None:
            early = [label(i), label(waiting[0])]
        done.add(i)
    first = list(dict.fromkeys(c for c in calls if c in counts))
    return {
        "has_backward": True,
        "ours": ours,
        "grads": grads,
        "out_grad": grad_of(A, out, "the output"),
        "calls": len(calls),
        "twice": None if twice is None else [label(twice), counts[twice]],
        "never": sum(1 for i in inner if counts[i] == 0),
        "inner": len(inner),
        "early": early,
        "creation_order": len(first) > 1 and first == sorted(first),
    }


def _recorder(step: Any, i: int, calls: list[int]) -> Callable[[], Any]:
    def run() -> Any:
        calls.append(i)
        return step()

    return run


# ---- functions ---------------------------------------------------------------------------------


def run_fd(fn: Any, f_key: str, x: float, hs: Sequence[float], phase: Phase) -> dict[str, Any]:
    """The learner's difference function for one test function, at each step h."""
    f = FD_FUNCTIONS[f_key].f
    values: list[Any] = []
    phase("call")
    for h in hs:
        values.append(number(fn(f, x, h), f"{fn.__name__}(f, {x}, {h})"))
    return {"values": values}


def run_gradf(fn: Any, point: Sequence[float], phase: Phase) -> dict[str, Any]:
    phase("call")
    got = fn(*point)
    if isinstance(got, dict):
        try:
            got = [got[k] for k in ("a", "b", "c")]
        except KeyError:
            raise ProbeError("gradf returned a dict without the keys 'a', 'b', 'c'") from None
    try:
        items = list(got)
    except TypeError:
        raise ProbeError(f"gradf returned {_kind(got)}, not three numbers") from None
    if len(items) != 3:
        raise ProbeError(f"gradf returned {len(items)} numbers, not 3 (df/da, df/db, df/dc)")
    names = ("df/da", "df/db", "df/dc")
    return {"value": [number(v, f"gradf's {n}") for v, n in zip(items, names)]}


def _values_list(out: Any, n: int, what: str) -> list[Any]:
    try:
        items = list(out)
    except TypeError:
        raise ProbeError(f"{what} returned {_kind(out)}, not a list of Values") from None
    if len(items) != n:
        raise ProbeError(f"{what} returned {len(items)} values for {n} logits")
    return items


def run_softmax(fn: Any, A: Adapter, logits: Sequence[float], phase: Phase) -> dict[str, Any]:
    xs = build(A, logits, phase)
    phase("call")
    probs = _values_list(fn(xs), len(xs), "softmax")
    _left_graph(A, probs, "softmax")
    return {"probs": [data_of(A, p, f"softmax's entry {i}") for i, p in enumerate(probs)]}


def _left_graph(A: Adapter, outs: Sequence[Any], what: str) -> None:
    """A function that computes with plain numbers (``math.exp(x.data)``) hands back numbers,
    or Values with no inputs: the gradient cannot flow back through it."""
    for p in outs:
        if isinstance(p, (int, float)) and not isinstance(p, bool):
            raise LeftGraph(
                f"{what} returns plain numbers, not {A.cls.__name__}s: it computes outside the "
                f"graph (math.exp(x.{A.names.get('data', 'data')}) gives a float), so no "
                f"gradient can flow back; use x.exp() and the {A.cls.__name__} operators"
            )
    if A.has_graph() and outs and all(isinstance(p, A.cls) and not A.children(p) for p in outs):
        raise LeftGraph(
            f"{what}'s results are new {A.cls.__name__}s with no inputs: it computes with plain "
            f"numbers (math.exp(x.{A.names.get('data', 'data')})) and wraps the result, so the "
            "graph is cut and no gradient flows back; use x.exp() and the "
            f"{A.cls.__name__} operators"
        )


class LeftGraph(ProbeError):
    """softmax (or nll) computed with plain numbers: the graph is cut."""


def run_softmax_grad(
    softmax: Any, nll: Any, A: Adapter, logits: Sequence[float], target: int, phase: Phase
) -> dict[str, Any]:
    """loss = nll(softmax(logits), target) (or -log p[target] without nll); loss.backward()."""
    xs = build(A, logits, phase)
    phase("call")
    with Recorder(A) as rec:
        probs = _values_list(softmax(xs), len(xs), "softmax")
        _left_graph(A, probs, "softmax")
        loss = nll(probs, target) if nll is not None else -probs[target].log()
        value = data_of(A, loss, "nll")
    _call_backward(A, loss, phase, calls=rec.calls)
    return {
        "loss": value,
        "grads": [grad_of(A, v, f"logit {i}") for i, v in enumerate(xs)],
        "calls": rec.calls,
    }


def run_nll(
    nll: Any, A: Adapter, probs: Sequence[float], target: int, phase: Phase
) -> dict[str, Any]:
    ps = build(A, probs, phase)
    phase("call")
    with Recorder(A) as rec:
        loss = nll(ps, target)
        _left_graph(A, [loss], "nll")
        value = data_of(A, loss, "nll")
    _call_backward(A, loss, phase, calls=rec.calls)
    return {
        "loss": value,
        "grads": [grad_of(A, v, f"probs[{i}]") for i, v in enumerate(ps)],
        "calls": rec.calls,
    }
