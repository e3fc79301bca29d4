"""What the child process does with the learner's objects: small steps that return numbers.

Everything here runs in the child (see :mod:`gradcli.learner.worker`) on the learner's classes
and functions. A probe builds a tiny graph or calls a function and reports plain numbers
(``data``, ``grad``) and, for the learner's graph, its shape (``_prev`` and ``_op``). Judging
them is the parent's job (:mod:`gradcli.learner.diagnose`). ``phase`` tells the parent what is
running now, so that a hang or a crash can be blamed on the right part.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gradcli.learner.programs import FD_FUNCTIONS, PROGRAMS, Program

Phase = Callable[..., None]  # phase(name, **what is known so far)

#: the grads given to the inputs before a node's ``_backward`` runs (a ``=`` where ``+=``
#: belongs shows; zeroed inputs would hide it), and the out.grad it is handed (not 1, so a rule
#: that ignores out.grad shows)
PRE_GRADS = (0.3, -0.2, 0.45, 0.15, -0.35)
UPSTREAM = 0.7

#: most nodes described or walked by a probe (the learner's graph may be anything)
MAX_NODES = 20_000

_CHILD_ATTRS = ("_prev", "_children", "children", "prev")


class ProbeError(Exception):
    """The learner's code gave back something a probe cannot use; the message says what."""


def number(x: Any, what: str) -> float:
    """``x`` as a float, or a ProbeError that says what ``x`` was."""
    if isinstance(x, (str, bytes)) or x is None:
        raise ProbeError(f"{what} is {_kind(x)}, not a number")
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        if hasattr(x, "data"):
            raise ProbeError(f"{what} is {_kind(x)} (a Value?), not a number") from None
        raise ProbeError(f"{what} is {_kind(x)}, not a number") from None


def _kind(x: Any) -> str:
    if x is None:
        return "None"
    name = type(x).__name__
    return f"a {name}" if name[0] not in "aeiouAEIOU" else f"an {name}"


def data_of(out: Any, what: str) -> float:
    if not hasattr(out, "data"):
        raise ProbeError(f"{what} returned {_kind(out)}, not a Value (it has no .data)")
    return number(out.data, f"{what}.data")


def grad_of(v: Any, what: str) -> float:
    if not hasattr(v, "grad"):
        raise ProbeError(f"{what} has no .grad")
    return number(v.grad, f"{what}.grad")


def children(node: Any) -> list[Any]:
    """The inputs the learner's node records (``_prev`` as in micrograd, or a similar name)."""
    for attr in _CHILD_ATTRS:
        kids = getattr(node, attr, None)
        if kids is not None and not callable(kids):
            try:
                return list(kids)
            except TypeError:
                return []
    return []


def has_graph(node: Any) -> bool:
    return any(getattr(node, attr, None) is not None for attr in _CHILD_ATTRS)


def topo(out: Any) -> list[Any]:
    """gradcli's own topological order of the learner's graph (inputs first), iterative."""
    order: list[Any] = []
    seen = {id(out)}
    stack: list[tuple[Any, list[Any]]] = [(out, children(out))]
    while stack:
        node, kids = stack[-1]
        if kids:
            kid = kids.pop(0)
            if id(kid) not in seen:
                seen.add(id(kid))
                stack.append((kid, children(kid)))
                if len(seen) > MAX_NODES:
                    raise ProbeError(f"the graph has more than {MAX_NODES:,} nodes")
        else:
            stack.pop()
            order.append(node)
    return order


def _program(key: str) -> Program:
    return PROGRAMS[key]


def build(V: Any, point: Sequence[float], phase: Phase) -> list[Any]:
    phase("construct")
    return [V(float(x)) for x in point]


def forward(prog: Program, leaves: list[Any], phase: Phase) -> Any:
    phase("forward")
    return prog.fn(*leaves)


def run_program(
    V: Any, key: str, point: Sequence[float], mode: str, phase: Phase
) -> dict[str, Any]:
    """Run program ``key`` at ``point`` on the learner's class ``V``; ``mode`` says how far."""
    prog = _program(key)
    if mode == "trace":
        return _trace(V, prog, point, phase)
    leaves = build(V, point, phase)
    out = forward(prog, leaves, phase)
    result: dict[str, Any] = {"data": data_of(out, prog.name)}
    if mode == "forward":
        return result
    if mode == "backward":
        _call_backward(out, phase, data=result["data"])
        result["out_grad"] = grad_of(out, "the output")
        result["grads"] = [grad_of(v, n) for v, n in zip(leaves, prog.leaves)]
        return result
    if mode == "repeat":
        _call_backward(out, phase)
        first = [grad_of(v, n) for v, n in zip(leaves, prog.leaves)]
        _call_backward(out, phase)
        second = [grad_of(v, n) for v, n in zip(leaves, prog.leaves)]
        result.update(first=first, second=second)
        return result
    if mode == "local":
        return {**result, **_local(out, leaves, prog, phase)}
    raise ValueError(f"unknown mode {mode!r}")


def _call_backward(out: Any, phase: Phase, **known: Any) -> None:
    if not callable(getattr(out, "backward", None)):
        raise ProbeError("the output has no backward() method")
    phase("backward", **known)
    out.backward()


def _local(out: Any, leaves: list[Any], prog: Program, phase: Phase) -> dict[str, Any]:
    """The lecture's step by hand: each node's own ``_backward``, in gradcli's order.

    The inputs hold non-zero grads first and the output is handed ``UPSTREAM``; what each input
    gained is what the learner's local rules passed down.
    """
    nodes = describe(out, leaves)
    if not callable(getattr(out, "_backward", None)):
        return {"has_backward": False, "nodes": nodes}
    order = topo(out) if has_graph(out) else [out]
    leaf_ids = {id(v) for v in leaves}
    if id(out) in leaf_ids:
        raise ProbeError(f"{prog.name} returned one of its inputs, not a new Value")
    pre = list(PRE_GRADS[: len(leaves)])
    for v, g in zip(leaves, pre):
        v.grad = g
    for node in order:
        if id(node) not in leaf_ids:
            node.grad = 0.0
    out.grad = UPSTREAM
    phase("_backward", data=data_of(out, prog.name), nodes=nodes)
    for node in reversed(order):
        step = getattr(node, "_backward", None)
        if callable(step):
            step()
    return {
        "has_backward": True,
        "pre": pre,
        "final": [grad_of(v, n) for v, n in zip(leaves, prog.leaves)],
        "nodes": nodes,
    }


def describe(out: Any, leaves: list[Any]) -> list[dict[str, Any]]:
    """The learner's graph between ``out`` and the inputs: each inner node's ``_op`` label,
    value and inputs (``["leaf", i]``, ``["node", j]`` or ``["const", value]``)."""
    if not has_graph(out):
        return []
    leaf_index = {id(v): i for i, v in enumerate(leaves)}
    inner = [n for n in topo(out) if id(n) not in leaf_index and (children(n) or n is out)]
    index = {id(n): j for j, n in enumerate(inner)}
    nodes = []
    for n in inner[:200]:
        refs: list[list[Any]] = []
        for kid in children(n):
            if id(kid) in leaf_index:
                refs.append(["leaf", leaf_index[id(kid)]])
            elif id(kid) in index:
                refs.append(["node", index[id(kid)]])
            else:
                refs.append(["const", _maybe_number(getattr(kid, "data", None))])
        nodes.append(
            {
                "op": str(getattr(n, "_op", ""))[:40],
                "data": _maybe_number(getattr(n, "data", None)),
                "children": refs,
            }
        )
    return nodes


def _maybe_number(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return None


def _trace(V: Any, prog: Program, point: Sequence[float], phase: Phase) -> dict[str, Any]:
    """How the learner's backward() walks the graph, watched node by node.

    Every node's ``_backward`` is wrapped to record when it runs, then their ``backward()`` is
    called: a node run twice (no visited set), a node run before all the nodes that use it
    have passed their gradient down (a wrong order), a node never run. ``ours`` is the learner's
    own rules walked in gradcli's order, on a fresh graph: it tells a wrong rule from a wrong
    walk.
    """
    leaves = build(V, point, phase)
    out = forward(prog, leaves, phase)
    if not callable(getattr(out, "_backward", None)) or not has_graph(out):
        return {"has_backward": False}
    out.grad = 1.0
    phase("_backward")
    for node in reversed(topo(out)):
        step = getattr(node, "_backward", None)
        if callable(step):
            step()
    ours = [grad_of(v, n) for v, n in zip(leaves, prog.leaves)]

    leaves = build(V, point, phase)
    out = forward(prog, leaves, phase)
    order = topo(out)
    index = {id(n): i for i, n in enumerate(order)}
    users: dict[int, list[int]] = {i: [] for i in range(len(order))}
    for i, n in enumerate(order):
        for kid in children(n):
            users[index[id(kid)]].append(i)
    calls: list[int] = []
    try:
        for i, node in enumerate(order):
            node._backward = _recorder(node._backward, i, calls)
    except (AttributeError, TypeError):
        return {"has_backward": False}
    _call_backward(out, phase)
    grads = [grad_of(v, n) for v, n in zip(leaves, prog.leaves)]
    inner = [i for i, n in enumerate(order) if children(n)]
    counts = {i: calls.count(i) for i in inner}
    label = lambda i: str(getattr(order[i], "_op", "") or "?")[:20]  # noqa: E731
    twice = next((i for i in inner if counts[i] > 1), None)
    early = None
    done: set[int] = set()
    for i in calls:
        waiting = [u for u in users[i] if u not in done and children(order[u])]
        if waiting and early is None:
            early = [label(i), label(waiting[0])]
        done.add(i)
    first = list(dict.fromkeys(c for c in calls if c in counts))
    return {
        "has_backward": True,
        "ours": ours,
        "grads": grads,
        "out_grad": grad_of(out, "the output"),
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


def run_softmax(fn: Any, V: Any, logits: Sequence[float], phase: Phase) -> dict[str, Any]:
    xs = build(V, logits, phase)
    phase("call")
    probs = _values_list(fn(xs), len(xs), "softmax")
    return {"probs": [data_of(p, f"softmax's entry {i}") for i, p in enumerate(probs)]}


def run_softmax_grad(
    softmax: Any, nll: Any, V: Any, logits: Sequence[float], target: int, phase: Phase
) -> dict[str, Any]:
    """loss = nll(softmax(logits), target) (or -log p[target] without nll); loss.backward()."""
    xs = build(V, logits, phase)
    phase("call")
    probs = _values_list(softmax(xs), len(xs), "softmax")
    loss = nll(probs, target) if nll is not None else -probs[target].log()
    value = data_of(loss, "nll")
    _call_backward(loss, phase)
    return {"loss": value, "grads": [grad_of(v, f"logit {i}") for i, v in enumerate(xs)]}


def run_nll(nll: Any, V: Any, probs: Sequence[float], target: int, phase: Phase) -> dict[str, Any]:
    ps = build(V, probs, phase)
    phase("call")
    loss = nll(ps, target)
    value = data_of(loss, "nll")
    _call_backward(loss, phase)
    return {"loss": value, "grads": [grad_of(v, f"probs[{i}]") for i, v in enumerate(ps)]}
