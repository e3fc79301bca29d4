"""``gradcli grad`` as a library call: value and gradient (or the Jacobian of several outputs) by
reverse or forward mode through the Value graph, beside sympy's exact derivatives.

Reverse mode runs one backward pass per output (a row of the Jacobian each); forward mode one
pass per input (a column each), through the same op table. Both give the same numbers: what
differs is how many passes they need, which the report says, because that is the lesson.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli import reference
from gradcli.engine import Value, grad, jvp
from gradcli.errors import DomainError
from gradcli.evaluate import Evaluation, build, check_names
from gradcli.expr import Expression, clip

MODES = ("reverse", "forward")


@dataclass
class GradReport:
    expression: Expression
    point: dict[str, float]
    value: float
    gradient: dict[str, float]  # through the Value graph, by ``mode``
    symbolic: dict[str, str | None]  # sympy's derivative, as text (None when skipped)
    symbolic_value: dict[str, float | None]  # that derivative at the point, 50 digits -> float
    notes: list[str] = field(default_factory=list)
    mode: str = "reverse"
    passes: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": self.expression.display,
            "point": self.point,
            "value": self.value,
            "gradient": self.gradient,
            "symbolic": self.symbolic,
            "mode": self.mode,
        }


@dataclass
class JacobianReport:
    """Several outputs: one row per output, one column per variable."""

    expressions: list[Expression]
    point: dict[str, float]
    variables: list[str]
    values: list[float]
    jacobian: list[list[float]]
    exact: list[list[float | None]] | None  # sympy's, at 50 digits (None when skipped)
    mode: str
    passes: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": [e.display for e in self.expressions],
            "point": self.point,
            "variables": self.variables,
            "value": self.values,
            "jacobian": self.jacobian,
            "mode": self.mode,
            "passes": self.passes,
            "exact": self.exact,
            "notes": self.notes,
        }


def passes_note(mode: str, outputs: int, inputs: int) -> str:
    """What the chosen mode cost, and what the other one would have."""
    if mode == "reverse":
        return (
            f"reverse mode: {outputs} backward pass{'es' if outputs != 1 else ''}, one per output "
            f"(forward mode would take {inputs}, one per input)"
        )
    return (
        f"forward mode: {inputs} pass{'es' if inputs != 1 else ''}, one per input (reverse mode "
        f"would take {outputs}, one per output)"
    )


def _forward_gradient(ev: Evaluation) -> dict[str, float]:
    leaves = list(ev.leaves.values())
    names = list(ev.leaves)
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        tangent = [1.0 if i == j else 0.0 for i in range(len(names))]
        out[name] = float(jvp(ev.output, leaves, tangent))
    return out


def grad_report(
    expression: Expression,
    point: dict[str, float],
    *,
    symbolic: bool | None = None,
    simplify: bool = False,
    mode: str = "reverse",
) -> GradReport:
    """Forward and backward through the Value graph; sympy's derivatives unless skipped.

    ``symbolic=None`` computes them unless the expression is too large (see
    :data:`reference.SYMBOLIC_LIMIT`); True forces them, False skips them. ``mode="forward"``
    pushes tangents instead, one pass per variable.
    """
    ev = build(expression, point)
    names = expression.variables
    gradient = ev.gradient if mode == "reverse" else _forward_gradient(ev)
    notes: list[str] = list(ev.warnings)
    texts: dict[str, str | None] = dict.fromkeys(names)
    values: dict[str, float | None] = dict.fromkeys(names)
    want = symbolic
    if want is None:
        want = not reference.too_large(expression)
        if not want:
            notes.append(
                f"symbolic derivatives skipped: the expression has "
                f"{expression.size:,} "
                f"nodes (more than {reference.SYMBOLIC_LIMIT:,}); --symbolic forces them"
            )
    if want and names:
        ref = reference.exact(expression, ev.point, simplify=simplify)
        if ref.symbolic is not None:
            texts = dict(ref.symbolic.derivative_text())
            if any(node.kind == "const" for node in expression.nodes):
                notes.append(
                    "pi and e are exact in the symbolic column; every number (reverse mode, the "
                    "symbolic value) uses them as doubles, as any float computation does"
                )
        else:
            notes.append(
                f"symbolic derivatives skipped: {ref.skipped}; the evaluated column is the "
                f"reverse pass re-run in mpmath at {reference.DPS} digits instead"
            )
        values = {n: reference.to_float(v) for n, v in ref.values.items()}
    passes = 1 if mode == "reverse" else len(names)
    report = GradReport(
        expression, ev.point, ev.value, gradient, texts, values, notes, mode, passes
    )
    return report


def union_variables(expressions: Sequence[Expression]) -> list[str]:
    """Every output's variables, in order of first appearance."""
    seen: dict[str, None] = {}
    for e in expressions:
        seen.update(dict.fromkeys(e.variables))
    return list(seen)


def jacobian_report(
    expressions: Sequence[Expression],
    point: dict[str, float],
    *,
    mode: str = "reverse",
    symbolic: bool | None = None,
) -> JacobianReport:
    """The Jacobian of several outputs at ``point``, by reverse mode (a backward pass per
    output) or forward mode (a pass per input), beside sympy's exact entries."""
    names = union_variables(expressions)
    point = check_names(names, point)
    leaves = {n: Value(point[n]) for n in names}
    evs = [
        build(e, {n: point[n] for n in e.variables}, leaves=leaves, backward=False)
        for e in expressions
    ]
    outputs = [ev.output for ev in evs]
    inputs = [leaves[n] for n in names]
    if mode == "reverse":
        rows = [grad(o, inputs) for o in outputs]
        passes = len(outputs)
    else:
        cols = [
            jvp(outputs, inputs, [1.0 if i == j else 0.0 for i in range(len(inputs))])
            for j in range(len(inputs))
        ]
        rows = [[float(cols[j][i]) for j in range(len(inputs))] for i in range(len(outputs))]
        passes = len(inputs)
    for name, row in zip((e.display for e in expressions), rows):
        for var, x in zip(names, row):
            if not math.isfinite(x):
                raise DomainError(
                    f"d({clip(name, 40, '...')})/d{var} overflows ({x}) at this point",
                    hint="pick another point",
                    overflow=True,
                )
    notes = [w for ev in evs for w in ev.warnings]
    exact: list[list[float | None]] | None = None
    want = (
        symbolic if symbolic is not None else not any(reference.too_large(e) for e in expressions)
    )
    if want and names:
        exact = []
        for e in expressions:
            sub = {n: point[n] for n in e.variables}
            values = reference.exact_gradient(e, sub) if e.variables else {}
            exact.append([reference.to_float(values[n]) if n in values else 0.0 for n in names])
    elif names:
        notes.append(
            "sympy's exact Jacobian skipped (an output is too large); --symbolic forces it"
        )
    return JacobianReport(
        list(expressions),
        point,
        names,
        [float(ev.output.data) for ev in evs],
        [[float(x) for x in row] for row in rows],
        exact,
        mode,
        passes,
        notes,
    )
