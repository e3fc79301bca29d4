"""The Value graph: a scalar that remembers how it was computed, and reverse-mode autodiff.

A superset of micrograd's ``Value``: micrograd code runs on it unchanged. What differs inside:

* every operation goes through the op table (:mod:`gradcli.ops`): the forward value and the
  local derivatives are computed together when a node is made, and stored on the node
  (``_local``), so the backward pass is one loop with no per-node closure;
* no node refers back to itself (no closure cycles), so a graph is freed as soon as it is dropped
  and the garbage collector has no cycles to chase;
* ``backward()`` orders nodes without recursion (a chain of 1,000,000 operations is fine) and
  **computes the gradients afresh on every call**: it first sets ``grad = 0`` on every node that
  reaches the output, then propagates. Calling it twice gives the same gradients, not double
  (micrograd accumulates; its own training loop zeroes the gradients first, so it is unaffected).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import count
from operator import attrgetter
from typing import Union

from gradcli.errors import DomainError
from gradcli.ops import OPS, Op

Number = int | float
Operand = Union["Value", int, float]

_ADD = OPS["add"]
_SUB = OPS["sub"]
_MUL = OPS["mul"]
_DIV = OPS["div"]
_NEG = OPS["neg"]
_POW = OPS["pow"]
_POWV = OPS["powv"]

# Creation order is a topological order (a node is always made after its inputs), so backward()
# only has to collect the nodes and sort them by this stamp: no recursion, no visit stack.
_stamp = count()
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
            return Value(out, inputs, op.name, op.partials(out, *args))
    except OverflowError:
        raise _domain_error(op, args, _OVERFLOW, overflow=True) from None
    except (ValueError, ZeroDivisionError) as exc:
        reason = op.undefined or str(exc)
    raise _domain_error(op, args, reason)


_OVERFLOW = "the result overflows (it is too large for a float)"


def _domain_error(op: Op, args: list[float], reason: str, overflow: bool = False) -> DomainError:
    shown = ", ".join(_fmt(a) for a in args)
    return DomainError(
        f"{op.name}({shown}) is undefined: {reason}", reason=reason, overflow=overflow
    )


# The two shapes almost every node has, spelled out without star-arguments: this is the
# engine's hot path (the MLP benchmark makes ~65,000 nodes per step). Same table, same rules;
# ops with a domain check take the general path.
def _apply1(op: Op, u: Value) -> Value:
    a = u.data
    try:
        if op.check is None:
            out = op.forward(a)
            return Value(out, (u,), op.name, op.partials(out, a))
    except (ValueError, ZeroDivisionError, OverflowError):
        pass  # apply() says why
    return apply(op, (u,))


def _apply2(op: Op, u: Value, v: Value) -> Value:
    if op.check is not None:
        return apply(op, (u, v))
    a = u.data
    b = v.data
    out = op.forward(a, b)  # add, sub, mul cannot raise: float overflow gives inf
    return Value(out, (u, v), op.name, op.partials(out, a, b))


class Value:
    """A scalar node in a computation graph: ``data``, ``grad``, and how it was made."""

    __slots__ = ("_id", "_local", "_op", "_prev", "data", "grad")

    def __init__(
        self,
        data: Number,
        _children: Iterable[Value] = (),
        _op: str = "",
        _local: tuple[float, ...] = (),
    ) -> None:
        self.data = data
        self.grad = 0.0
        self._prev: tuple[Value, ...] = _children if type(_children) is tuple else tuple(_children)
        self._op = _op  # the op table's name for the op that made this node ("" for a leaf)
        self._local = _local  # d self / d child, one per child, computed in the forward pass
        self._id = next(_stamp)

    # ---- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other: Operand) -> Value:
        return _apply2(_ADD, self, _lift(other))

    def __radd__(self, other: Operand) -> Value:  # other + self (also what sum() calls first)
        return _apply2(_ADD, _lift(other), self)

    def __sub__(self, other: Operand) -> Value:
        return _apply2(_SUB, self, _lift(other))

    def __rsub__(self, other: Operand) -> Value:
        return _apply2(_SUB, _lift(other), self)

    def __mul__(self, other: Operand) -> Value:
        return _apply2(_MUL, self, _lift(other))

    def __rmul__(self, other: Operand) -> Value:
        return _apply2(_MUL, _lift(other), self)

    def __truediv__(self, other: Operand) -> Value:
        return apply(_DIV, (self, _lift(other)))

    def __rtruediv__(self, other: Operand) -> Value:
        return apply(_DIV, (_lift(other), self))

    def __neg__(self) -> Value:
        return _apply1(_NEG, self)

    def __pos__(self) -> Value:
        return self

    def __pow__(self, other: Operand) -> Value:
        """``self ** n`` for a number n; ``self ** v`` for a Value v (d/dv = self**v * log self)."""
        if isinstance(other, Value):
            return apply(_POWV, (self, other))
        return apply(_POW, (self,), (other,))

    def __rpow__(self, other: Number) -> Value:  # number ** self
        return apply(_POWV, (_lift(other), self))

    def __abs__(self) -> Value:
        return _apply1(OPS["abs"], self)

    # ---- functions from the op table ------------------------------------------------------------
    def exp(self) -> Value:
        return _apply1(OPS["exp"], self)

    def log(self) -> Value:
        return _apply1(OPS["log"], self)

    def sqrt(self) -> Value:
        return _apply1(OPS["sqrt"], self)

    def sin(self) -> Value:
        return _apply1(OPS["sin"], self)

    def cos(self) -> Value:
        return _apply1(OPS["cos"], self)

    def tan(self) -> Value:
        return _apply1(OPS["tan"], self)

    def tanh(self) -> Value:
        return _apply1(OPS["tanh"], self)

    def sigmoid(self) -> Value:
        return _apply1(OPS["sigmoid"], self)

    def abs(self) -> Value:
        return _apply1(OPS["abs"], self)

    def relu(self) -> Value:
        return _apply1(OPS["relu"], self)

    def asin(self) -> Value:
        return _apply1(OPS["asin"], self)

    def acos(self) -> Value:
        return _apply1(OPS["acos"], self)

    def atan(self) -> Value:
        return _apply1(OPS["atan"], self)

    def sinh(self) -> Value:
        return _apply1(OPS["sinh"], self)

    def cosh(self) -> Value:
        return _apply1(OPS["cosh"], self)

    # ---- reverse mode -------------------------------------------------------------------------
    def topo(self) -> list[Value]:
        """Every node this one depends on, itself included, inputs before outputs."""
        seen = {self}
        stack = [self]
        nodes = [self]
        while stack:
            for child in stack.pop()._prev:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
                    nodes.append(child)
        nodes.sort(key=_by_stamp)
        return nodes

    def backward(self) -> None:
        """Fill ``grad`` of every node this one depends on with d self / d node.

        Each call computes the gradients afresh: it zeroes them on this graph first.
        """
        order = self.topo()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            g = node.grad
            if g:
                for child, local in zip(node._prev, node._local, strict=False):
                    child.grad += local * g

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"


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
