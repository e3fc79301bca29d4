"""``gradcli grad`` as a library call: value and gradient by reverse mode, beside sympy's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradcli import reference
from gradcli.evaluate import build
from gradcli.expr import Expression


@dataclass
class GradReport:
    expression: Expression
    point: dict[str, float]
    value: float
    gradient: dict[str, float]  # reverse mode through the Value graph
    symbolic: dict[str, str | None]  # sympy's derivative, as text (None when skipped)
    symbolic_value: dict[str, float | None]  # that derivative at the point, 50 digits -> float
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": self.expression.display,
            "point": self.point,
            "value": self.value,
            "gradient": self.gradient,
            "symbolic": self.symbolic,
        }


def grad_report(
    expression: Expression,
    point: dict[str, float],
    *,
    symbolic: bool | None = None,
    simplify: bool = False,
) -> GradReport:
    """Forward and backward through the Value graph; sympy's derivatives unless skipped.

    ``symbolic=None`` computes them unless the expression is too large (see
    :data:`reference.SYMBOLIC_LIMIT`); True forces them, False skips them.
    """
    ev = build(expression, point)
    notes: list[str] = []
    names = expression.variables
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
        sym = reference.symbolic(expression, simplify=simplify)
        texts = dict(sym.derivative_text())
        if any(node.kind == "const" for node in expression.nodes):
            notes.append(
                "pi and e are exact in the symbolic column; every number (reverse mode, the "
                "symbolic value) uses them as doubles, as any float computation does"
            )
        exact = reference.exact_gradient(expression, ev.point, sym)
        values = {n: reference.to_float(v) for n, v in exact.items()}
    return GradReport(expression, ev.point, ev.value, ev.gradient, texts, values, notes)
