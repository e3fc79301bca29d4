"""Expression tree + point -> Value graph -> value and gradient, with every number checked.

This is where "nothing returns NaN or inf silently" is enforced: a node outside its op's
domain, a value that overflows, an infinite local derivative or an overflowing gradient each
become a :class:`DomainError` that names the subexpression (as the user wrote it) and the
values of its arguments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gradcli.engine import Value, apply
from gradcli.errors import DomainError, PointError
from gradcli.expr import Expression, Node, clip, strip_brackets, walk
from gradcli.ops import CONSTANTS


@dataclass
class Evaluation:
    """The Value graph of an expression at a point, after the backward pass."""

    expression: Expression
    point: dict[str, float]
    output: Value
    leaves: dict[str, Value]  # variable name -> its leaf node
    nodes: dict[int, Node]  # id(Value) -> the tree node it came from
    warnings: list[str] = field(default_factory=list)  # e.g. a value sitting on a pole

    @property
    def value(self) -> float:
        return float(self.output.data)

    @property
    def gradient(self) -> dict[str, float]:
        return {name: float(v.grad) for name, v in self.leaves.items()}


def check_point(expression: Expression, point: Mapping[str, float]) -> dict[str, float]:
    """The point, ordered by the expression's variables; an error if it does not fit."""
    return check_names(expression.variables, point)


def check_names(names: Sequence[str], point: Mapping[str, float]) -> dict[str, float]:
    """The point, ordered by ``names`` (variables); an error if it does not fit them."""
    missing = [n for n in names if n not in point]
    extra = [n for n in point if n not in names]
    constants = [n for n in extra if n in CONSTANTS]
    if constants:
        raise PointError(
            f"'{constants[0]}' is a constant ({CONSTANTS[constants[0]]!r}) in expressions, not a "
            "variable, so --at cannot set it",
            hint="rename the variable, e.g. p or e0",
        )
    if extra:
        known = ", ".join(names[:6]) or "none"
        if len(names) > 6:
            known += f", ... ({len(names):,} in all)"
        raise PointError(
            f"--at gives {_names(extra)}, which the expression does not use "
            f"(its variables: {known})",
            hint="remove it, or check the spelling",
        )
    if missing:
        example = " ".join(f"--at {n}=1" for n in missing[:3]) + (" ..." if missing[3:] else "")
        raise PointError(f"no value given for {_names(missing)}", hint=f"add {example}")
    for n in names:
        if not math.isfinite(point[n]):
            raise PointError(f"{n}={point[n]} is not a finite number")
    return {n: float(point[n]) for n in names}


def _names(names: Sequence[str], limit: int = 6) -> str:
    quoted = [f"'{n}'" for n in names[:limit]]
    if len(names) > limit:
        quoted.append(f"and {len(names) - limit:,} more")
    word = "variable" if len(names) == 1 else "variables"
    return f"{word} {', '.join(quoted)}"


def snippet(expression: Expression, node: Node, limit: int = 60) -> str:
    return clip(expression.text_of(node), limit, "...")


def build(
    expression: Expression,
    point: Mapping[str, float],
    *,
    leaves: Mapping[str, Value] | None = None,
    backward: bool = True,
) -> Evaluation:
    """Forward pass: the Value graph of ``expression`` at ``point`` (checked), then backward.

    ``leaves`` shares variables' leaf nodes between several expressions (the outputs of a
    Jacobian); ``backward=False`` stops after the forward pass.
    """
    point = check_point(expression, point)
    given = leaves or {}
    leaves = {name: given.get(name) or Value(point[name]) for name in expression.variables}
    nodes: dict[int, Node] = {}
    warnings: list[str] = []

    def visit(node: Node, args: list[Value]) -> Value:
        if node.kind == "var":
            v = leaves[node.name]
        elif node.const is not None:
            # a number, pi, or a subexpression without variables (acos(-1), 2*3): one constant
            # leaf. Its parts have no gradient to give, and acos'(-1) being infinite must not
            # make x*acos(-1) fail.
            v = Value(node.const)
        else:
            try:
                v = apply(node.op, tuple(args), node.params)
            except DomainError as exc:
                where = snippet(expression, node)
                said = (
                    "overflows at this point"
                    if exc.overflow
                    else (f"is undefined at this point: {exc.reason}")
                )
                raise DomainError(
                    f"{where} {said}" + _argument_values(expression, node, args),
                    reason=exc.reason,
                    overflow=exc.overflow,
                ) from None
            if not math.isfinite(v.data):
                raise DomainError(
                    f"{snippet(expression, node)} overflows to {v.data} at this point"
                    + _argument_values(expression, node, args),
                    hint="pick another point",
                )
            pole = node.op.pole(*(a.data for a in args), *node.params) if node.op.pole else None
            if pole:
                warnings.append(f"{snippet(expression, node)}: {pole}")
            for local in v._local:
                if not math.isfinite(local):
                    raise DomainError(
                        f"the derivative of {snippet(expression, node)} is infinite (or too "
                        "large for a float) at this point"
                        + _argument_values(expression, node, args),
                        hint="pick another point",
                    )
        nodes.setdefault(id(v), node)
        return v

    output = walk(expression.root, visit)
    if not backward:
        return Evaluation(expression, point, output, dict(leaves), nodes, warnings)
    output.backward()
    for name, leaf in leaves.items():
        if not math.isfinite(leaf.grad):
            raise DomainError(
                f"the derivative with respect to {name} overflows ({leaf.grad}) at this point",
                hint="pick another point",
                overflow=True,
            )
    for v in output.topo():  # inner nodes too: graph and explain show every node's gradient
        if not math.isfinite(v.grad):
            raise DomainError(
                f"the gradient at {snippet(expression, nodes[id(v)])} overflows ({v.grad}) "
                "at this point",
                hint="pick another point",
                overflow=True,
            )
    return Evaluation(expression, point, output, dict(leaves), nodes, warnings)


def _argument_values(expression: Expression, node: Node, args: list[Value]) -> str:
    shown = list(
        dict.fromkeys(  # x*x names x once
            f"{strip_brackets(snippet(expression, a, 30))} = {v.data:.6g}"
            for a, v in zip(node.args, args, strict=False)
            if a.kind != "num"
        )
    )
    return f" (here {', '.join(shown)})" if shown else ""
