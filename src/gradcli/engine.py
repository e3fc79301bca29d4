"""The Value graph: a scalar that remembers how it was computed, and reverse-mode autodiff.

A superset of micrograd's ``Value``: code written for micrograd (its ``nn.py``, its demo, the
lecture notebooks) runs on it unchanged and gets the same gradients.

* Every operation goes through the op table (:mod:`gradcli.ops`): the forward value and the
  local derivatives are computed together when a node is made and stored on the node
  (``_local``), so table-made nodes need no closure (and hold no reference cycle).
* micrograd's extension API is kept: ``Value(data, _children, _op, label)``, and a closure a
  user sets on ``out._backward`` is honoured by :meth:`Value.backward` (that node uses the
  closure instead of the table's local derivatives). ``node._backward()`` can be called by hand
  on any node, as in the lecture: it hands ``node.grad`` to the node's inputs.
* **Gradients accumulate into leaves, as in PyTorch**: ``backward()`` adds into the ``grad`` of
  every leaf (a Value with no inputs), so two losses backpropagated in turn, or a loop over
  samples, sum. The gradients of the graph's inner nodes are reset at the start of each
  ``backward()``, so they never compound across calls (micrograd's do: backward twice on
  ``x*x + x`` at x = 2 gives 14 there; here, as in PyTorch with ``retain_graph``, 10). Zeroing is
  the caller's job: ``p.grad = 0`` or :func:`zero_grad`.
* :func:`backward_steps` is the one reverse-mode loop. :meth:`Value.backward`, :func:`grad`
  (also with ``create_graph=True``: the backward pass built out of Values, differentiable
  again), ``gradcli explain`` and the 50-digit reverse pass all consume its steps.
* Nothing recurses: a chain of 1,000,000 operations is fine.

:func:`jvp` is forward mode over the same table: tangents pushed from the inputs to the output.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import count
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Union

from gradcli.errors import DomainError
from gradcli.ops import OPS, Op

Number = int | float
Operand = Union["Value", int, float]
#: one step of the backward pass: (node, its upstream gradient, each input's local derivative)
Step = tuple["Value", Any, Sequence[Any] | None]
#: local derivatives of a node in some number type (floats, Values, mpmath numbers)
LocalFn = Callable[["Value"], Sequence[Any]]

_DIV = OPS["div"]
_POW = OPS["pow"]
_POWV = OPS["powv"]

# Creation order is a topological order (a node is always made after its inputs), so topo()
# only has to collect the nodes and sort them by this stamp: no recursion, no visit stack.
_stamp = count()
_new = object.__new__
_by_stamp = attrgetter("_id")


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def apply(op: Op, inputs: tuple[Value, ...], params: tuple[float, ...] = ()) -> Value:
    """Make the node ``op(*inputs, *params)``: its value and its local derivatives, from the table.

    Raises :class:`DomainError` when the inputs lie outside the op's domain or the result
    overflows.
    """
    args = [v.data for v in inputs]
    args.extend(params)
    try:
        reason = op.check(*args) if op.check is not None else None
        if reason is None:
            out = op.forward(*args)
            node = Value(out, inputs, op.name, "", op.partials(out, *args))
            if params:
                node._params = params
            return node
    except OverflowError:
        raise _domain_error(op, args, _OVERFLOW, overflow=True) from None
    except (ValueError, ZeroDivisionError) as exc:
        reason = op.undefined or str(exc)
    raise _domain_error(op, args, reason)


_OVERFLOW = "the result overflows (it is too large for a float)"


def _domain_error(op: Op, args: list[float], reason: str, overflow: bool = False) -> DomainError:
    shown = ", ".join(_fmt(a) for a in args)
    return DomainError(
        f"{op.spelling}({shown}) is undefined: {reason}", reason=reason, overflow=overflow
    )


class Value:
    """A scalar node in a computation graph: ``data``, ``grad``, and how it was made.

    ``Value(data, _children=(), _op='', label='')`` as in micrograd. ``grad`` holds
    d(output)/d(self) after ``output.backward()``; for leaves it accumulates over calls.
    """

    __slots__ = ("_bw", "_id", "_local", "_op", "_params", "_prev", "data", "grad", "label")
    _params: tuple[float, ...]  # the constant parameters (the n of u**n), set only when there are
    grad: Any  # a float for users; a backward pass may hold other adjoints here while it runs

    def __init__(
        self,
        data: Number,
        _children: Iterable[Value] = (),
        _op: str = "",
        label: str = "",
        _local: tuple[float, ...] = (),
    ) -> None:
        self.data = data
        self.grad = 0.0
        self._prev: tuple[Value, ...] = _children if type(_children) is tuple else tuple(_children)
        self._op = _op  # the op table's name for the op that made this node ("" for a leaf)
        self._local = _local  # d self / d child, one per child, computed in the forward pass
        self.label = label
        self._bw: Callable[[], None] | None = None  # a micrograd-style closure set by the user
        self._id = next(_stamp)

    if TYPE_CHECKING:  # attached below from the op table: a + b, v.exp(), v.gelu(), ...

        def __getattr__(self, name: str) -> Callable[..., Value]: ...
        def __add__(self, other: Operand) -> Value: ...
        def __radd__(self, other: Operand) -> Value: ...
        def __sub__(self, other: Operand) -> Value: ...
        def __rsub__(self, other: Operand) -> Value: ...
        def __mul__(self, other: Operand) -> Value: ...
        def __rmul__(self, other: Operand) -> Value: ...
        def __neg__(self) -> Value: ...
        def __abs__(self) -> Value: ...

    # ---- micrograd's _backward -----------------------------------------------------------------
    @property
    def _backward(self) -> Callable[[], None]:
        """Hand this node's ``grad`` to its inputs (one step of the backward pass, as the lecture
        calls it by hand). A closure assigned here (micrograd style) replaces the table's rule
        for this node."""
        bw = self._bw
        return bw if bw is not None else self._propagate

    @_backward.setter
    def _backward(self, fn: Callable[[], None]) -> None:
        self._bw = fn

    def _propagate(self) -> None:
        g = self.grad
        for child, local in zip(self._prev, self._local):
            child.grad += local * g

    # ---- arithmetic ---------------------------------------------------------------------------
    # + - * come from _binary (below), with numbers on either side: sum() calls 0 + a first.

    def __truediv__(self, other: Operand) -> Value:
        return apply(_DIV, (self, _lift(other)))

    def __rtruediv__(self, other: Operand) -> Value:
        return apply(_DIV, (_lift(other), self))

    def __pos__(self) -> Value:
        return self

    def __pow__(self, other: Operand) -> Value:
        """``self ** n`` for a number n; ``self ** v`` for a Value v (d/dv = self**v * log self)."""
        if isinstance(other, Value):
            return apply(_POWV, (self, other))
        return apply(_POW, (self,), (_as_float(other),))

    def __rpow__(self, other: Number) -> Value:  # number ** self
        return apply(_POWV, (_lift(other), self))

    # ---- reverse mode -------------------------------------------------------------------------
    def topo(self) -> list[Value]:
        """Every node this one depends on, itself included, inputs before outputs."""
        return _topo((self,))

    def backward(self) -> None:
        """Add d self / d leaf into the ``grad`` of every leaf this node depends on, and set the
        ``grad`` of every inner node to d self / d node (PyTorch's rule; see the module doc).

        Two losses backpropagated in turn sum into the weights they share::

            w = Value(2.0)
            (w * 1.5).backward()
            (w * 2.0).backward()
            w.grad  # 3.5
        """
        order = self.topo()
        for node in order:
            if node._prev:
                node.grad = 0.0
        if self._prev:
            self.grad = 1.0
        else:
            self.grad += 1.0
        deque(backward_steps(order), maxlen=0)

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"


def _binary(op: Op, reflected: bool) -> Callable[[Value, Operand], Value]:
    """``a <op> b`` (or, ``reflected``, ``b <op> a`` for ``number <op> a``): the engine's hot
    path, so the table's forward and partials are called right here, without star-arguments.
    Only ops without a domain check (add, sub, mul) take it."""
    assert op.check is None
    name = op.name
    forward = op.forward
    partials = op.partials

    def method(self: Value, other: Operand) -> Value:
        v = other if isinstance(other, Value) else _lift(other)
        a = self.data
        b = v.data
        # Value(out, (self, v), name, "", locals) written out: the __init__ call is a tenth of
        # the cost of making a node (test_engine_hot_path_nodes_match_init guards the copy)
        n = _new(Value)
        n.data = out = forward(a, b)  # add, sub, mul cannot raise: float overflow gives inf
        n.grad = 0.0
        n._prev = (self, v)
        n._op = name
        n._local = partials(out, a, b)
        n.label = ""
        n._bw = None
        n._id = next(_stamp)
        return n

    if not reflected:
        return method

    def rmethod(self: Value, other: Operand) -> Value:  # number <op> self
        return method(other if isinstance(other, Value) else _lift(other), self)

    return rmethod


for _dunder, _name in (("add", "add"), ("sub", "sub"), ("mul", "mul")):
    setattr(Value, f"__{_dunder}__", _binary(OPS[_name], reflected=False))
    setattr(Value, f"__r{_dunder}__", _binary(OPS[_name], reflected=True))


def _unary(op: Op) -> Callable[[Value], Value]:
    """``op(a)`` for an op of one input: a hot path too (relu, tanh), so the table's forward and
    partials are called right here; an op with a domain check goes through :func:`apply`."""
    if op.check is not None:
        return lambda self: apply(op, (self,))
    name = op.name
    forward = op.forward
    partials = op.partials

    def unary(self: Value) -> Value:
        a = self.data
        try:
            out = forward(a)
            local = partials(out, a)
        except (ValueError, ZeroDivisionError, OverflowError):
            return apply(op, (self,))  # which says why
        n = _new(Value)  # Value(out, (self,), name, "", local) written out, as in _binary
        n.data = out
        n.grad = 0.0
        n._prev = (self,)
        n._op = name
        n._local = local
        n.label = ""
        n._bw = None
        n._id = next(_stamp)
        return n

    return unary


setattr(Value, "__neg__", _unary(OPS["neg"]))  # noqa: B010  (-a, from the table)
setattr(Value, "__abs__", _unary(OPS["abs"]))  # noqa: B010  (abs(a))


def _method(op: Op) -> Callable[..., Value]:
    """``Value.<name>``: the op table's function applied to this Value (further inputs and the
    op's constant parameters, with their defaults, follow as arguments)."""
    if op.arity == 1 and not op.params:
        method = _unary(op)
    else:

        def general(self: Value, *args: Operand) -> Value:
            n = len(args) + 1 if op.arity < 0 else op.arity
            inputs = (self, *(_lift(a) for a in args[: n - 1]))
            given = tuple(_as_float(p) for p in args[n - 1 :])
            missing = len(op.params) - len(given)
            if missing < 0 or missing > len(op.defaults) or len(inputs) < op.min_args:
                raise TypeError(f"Value.{op.name}() takes the arguments of {op.form()}")
            return apply(op, inputs, given + op.defaults[len(op.defaults) - missing :])

        method = general
    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = f"{op.form()}: {op.notes or op.domain}. d/du = {op.rule_text(0)}"
    return method


for _op in OPS.values():
    if _op.function:
        setattr(Value, _op.name, _method(_op))


def _lift(x: Operand) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Value(float(x))
    return Value(_as_float(x))


def _as_float(x: object) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"cannot combine a Value with {type(x).__name__}") from None


# ---- the one reverse-mode loop -------------------------------------------------------------------


def _topo(outputs: Iterable[Value]) -> list[Value]:
    """Every node the outputs depend on, each once, inputs before outputs."""
    stack = list(outputs)
    seen = set(stack)
    nodes = list(stack)
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)
                nodes.append(child)
    nodes.sort(key=_by_stamp)
    return nodes


class _Zero:
    """An adjoint that is exactly zero, in any number type: ``_ZERO + x`` is ``x`` (no node is
    made for it), and it is false, so the loop skips nodes that received nothing."""

    __slots__ = ()

    def __add__(self, other: Any) -> Any:
        return other

    __radd__ = __add__

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "0"


ZERO = _Zero()


def backward_steps(
    order: Sequence[Value], local: LocalFn | None = None, *, every: bool = False
) -> Iterator[Step]:
    """THE reverse-mode loop: each node in reverse topological order hands its gradient to its
    inputs, ``child.grad += local * upstream``.

    The adjoints live in ``.grad`` while the loop runs; the caller seeds them (output 1, the rest
    0 or :data:`ZERO`). ``local(node)`` gives a node's local derivatives in the number type of
    the pass (default: the floats the forward pass stored). Each step is yielded before its
    contributions are added, as ``(node, upstream, locals)``: the input's gradient before the
    step is ``child.grad`` at that moment. Nodes whose gradient is zero are skipped unless
    ``every``. A node with a user-set ``_backward`` closure runs it (``locals`` is None).
    """
    for node in reversed(order):
        bw = node._bw
        if bw is not None:
            if local is not None:
                raise DomainError(
                    f"a node made by a user-defined _backward closure (op {node._op!r}) can "
                    "only be differentiated once: gradcli cannot see its rule",
                    hint="build it from gradcli's own operations (e.g. Value.tanh) instead",
                )
            yield node, node.grad, None
            bw()
            continue
        g = node.grad
        if not g and not every:
            continue
        prev = node._prev
        if not prev:
            continue
        if local is None:
            d = node._local
            yield node, g, d
            for child, x in zip(prev, d):
                child.grad += x * g
            continue
        dv = local(node)
        yield node, g, dv
        for child, x in zip(prev, dv):
            if x.__class__ is float:  # a constant local derivative: no node for * 1 or * 0
                if x == 0.0:
                    continue
                child.grad += g if x == 1.0 else x * g
            else:
                child.grad += x * g


def value_partials(node: Value) -> Sequence[Any]:
    """A node's local derivatives as Values (the op table's ``vpartials``), for second order."""
    if not node._local:
        return ()  # a leaf, or a node made without a rule (micrograd: its gradient is 0)
    params: tuple[float, ...] = getattr(node, "_params", ())
    result: Sequence[Any] = OPS[node._op].vpartials(node, *node._prev, *params)
    return result


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """d output / d input for each of ``inputs``, like ``torch.autograd.grad``; ``.grad`` is left
    as it was.

    With ``create_graph=True`` the results are Values whose own graph is the backward pass, so
    they can be differentiated again (``grad(g, xs)`` of a gradient ``g`` gives a Hessian row;
    third and higher derivatives work the same way). An input the output does not depend on gets
    0.
    """
    order = output.topo()
    members = {id(n) for n in order}
    saved = [n.grad for n in order]
    start: Any = ZERO if create_graph else 0.0
    try:
        for node in order:
            node.grad = start
        output.grad = 1.0
        steps = backward_steps(order, value_partials if create_graph else None)
        deque(steps, maxlen=0)
        found: list[Any] = [inp.grad if id(inp) in members else start for inp in inputs]
    finally:
        for node, g in zip(order, saved):
            node.grad = g
    if not create_graph:
        return [float(g) if g is not ZERO else 0.0 for g in found]
    return [g if isinstance(g, Value) else Value(0.0 if g is ZERO else float(g)) for g in found]


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``grad = 0`` on each Value (before the next backward(), as in PyTorch)."""
    for v in values:
        v.grad = 0.0


def jvp(
    outputs: Value | Sequence[Value], inputs: Sequence[Value], tangents: Sequence[float]
) -> Any:
    """Forward mode: the directional derivative of the output(s) along ``tangents`` (one number
    per input), pushed from the inputs to the outputs through the op table's local derivatives.

    One pass gives d output / d input_j for every output when ``tangents`` is the j-th unit
    vector: a column of the Jacobian (reverse mode gives a row per pass). Returns a float, or a
    list of floats for a list of outputs. Like :func:`grad`, it leaves ``.grad`` as it was (the
    tangents live there while the pass runs).
    """
    outs: list[Value] = [outputs] if isinstance(outputs, Value) else list(outputs)
    order = _topo(outs)
    saved = [n.grad for n in order]
    seeded = {id(x) for x in inputs if x._prev}  # inner nodes given a tangent of their own
    try:
        for node in order:
            node.grad = 0.0
        for x, t in zip(inputs, tangents, strict=True):
            x.grad = float(t)
        for node in order:
            prev = node._prev
            if not prev or (seeded and id(node) in seeded):
                continue
            if node._bw is not None:
                raise DomainError(
                    f"forward mode cannot see through a user-defined _backward closure (op "
                    f"{node._op!r})",
                    hint="build the node from gradcli's own operations",
                )
            total = 0.0
            for child, local in zip(prev, node._local):
                total += local * child.grad
            node.grad = total
        found = [float(o.grad) for o in outs]
    finally:
        for node, g in zip(order, saved):
            node.grad = g
    return found if not isinstance(outputs, Value) else found[0]
