"""Exact references: the sympy expression, its derivatives, and their values at high precision.

sympy is imported only here, inside functions (``gradcli ops`` and ``--help`` never pay for it).
The sympy expression is built directly from the validated tree through the op table's ``sympy``
counterparts: user text never reaches ``sympify`` or ``parse_expr``. Values are computed with
mpmath at :data:`DPS` significant digits by walking the sympy tree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gradcli.expr import Node, count_nodes, walk
from gradcli.parse import Expression

#: significant digits of the exact reference
DPS = 50
#: above this many tree nodes, symbolic derivatives are skipped unless asked for (sympy's
#: canonical ordering and printing grow much faster than linearly on large sums)
SYMBOLIC_LIMIT = 2_000


@dataclass
class Symbolic:
    """sympy's view of an expression: the expression and one derivative per variable."""

    expr: Any
    symbols: dict[str, Any]
    derivatives: dict[str, Any] = field(default_factory=dict)

    def derivative_text(self) -> dict[str, str]:
        return {name: str(d) for name, d in self.derivatives.items()}


def too_large(expression: Expression) -> bool:
    return count_nodes(expression.root) > SYMBOLIC_LIMIT


def to_sympy(expression: Expression) -> tuple[Any, dict[str, Any]]:
    """The sympy expression of the tree, with one real symbol per variable."""
    import sympy as sp

    symbols = {name: sp.Symbol(name, real=True) for name in expression.variables}
    constants = {"pi": sp.pi, "e": sp.E}

    def visit(node: Node, args: list[Any]) -> Any:
        if node.kind == "var":
            return symbols[node.name]
        if node.kind == "const":
            return constants[node.name]
        if node.kind == "num":
            return _sympy_number(sp, node.name, node.const)
        params = [_sympy_number(sp, "", p) for p in node.params]
        return node.op.sympy(sp, *args, *params)

    return walk(expression.root, visit), symbols


def _sympy_number(sp: Any, text: str, value: float | None) -> Any:
    assert value is not None
    literal = text.lstrip("-").replace("_", "")
    if literal.isdigit() or (not text and value == int(value) and abs(value) < 2**53):
        return sp.Integer(int(value))
    return sp.Float(value)


def symbolic(expression: Expression, simplify: bool = False) -> Symbolic:
    """sympy's derivative with respect to every variable (simplified if asked)."""
    import sympy as sp

    expr, symbols = to_sympy(expression)
    result = Symbolic(expr, symbols)
    for name, sym in symbols.items():
        d = sp.diff(expr, sym)
        if simplify and sp.count_ops(d) < 60:
            d = sp.simplify(d)
        result.derivatives[name] = d
    return result


def evaluate(expr: Any, point: dict[str, float], symbols: dict[str, Any], dps: int = DPS) -> Any:
    """The value of a sympy expression at ``point`` as an mpmath number with ``dps`` digits."""
    import mpmath

    values = {symbols[name]: point[name] for name in symbols}
    with mpmath.workdps(dps + 10):
        try:
            return _mp(expr, values, mpmath)
        except RecursionError:  # pragma: no cover - only on pathological nesting
            return mpmath.mpf(str(expr.evalf(dps + 10, subs=values)))


def _mp(e: Any, values: dict[Any, float], mp: Any) -> Any:
    import sympy as sp

    if e.is_Symbol:
        return mp.mpf(values[e])
    if e.is_Number or e.is_NumberSymbol:
        if e.is_Rational:
            return mp.mpf(int(e.p)) / int(e.q)
        if e.is_Float:
            return mp.mpf(e._mpf_)
        return mp.mpf(str(e.evalf(mp.mp.dps)))
    if e.is_Add:
        return mp.fsum(_mp(a, values, mp) for a in e.args)
    if e.is_Mul:
        out = mp.mpf(1)
        for a in e.args:
            out *= _mp(a, values, mp)
        return out
    if e.is_Pow:
        base, expo = (_mp(a, values, mp) for a in e.args)
        if base < 0 and expo != int(expo):
            return mp.nan
        if base == 0 and expo < 0:
            return mp.inf
        return mp.power(base, expo)
    if isinstance(e, sp.Piecewise):
        for value, cond in e.args:
            if cond is sp.true or bool(_mp_cond(cond, values, mp)):
                return _mp(value, values, mp)
        return mp.nan
    if isinstance(e, sp.Abs):
        return abs(_mp(e.args[0], values, mp))
    if isinstance(e, sp.sign):
        return mp.sign(_mp(e.args[0], values, mp))
    if isinstance(e, sp.Heaviside):
        x = _mp(e.args[0], values, mp)
        h0 = _mp(e.args[1], values, mp) if len(e.args) > 1 else mp.mpf(0.5)
        return mp.mpf(1) if x > 0 else (h0 if x == 0 else mp.mpf(0))
    name = type(e).__name__
    fn = getattr(mp, name, None)
    if isinstance(e, sp.Function) and fn is not None:
        return fn(*(_mp(a, values, mp) for a in e.args))
    # anything else sympy may produce: let sympy evaluate it (slower, still exact)
    return mp.mpf(str(e.subs(values).evalf(mp.mp.dps)))


def _mp_cond(cond: Any, values: dict[Any, float], mp: Any) -> bool:
    import sympy as sp

    if isinstance(cond, sp.And):
        return all(_mp_cond(c, values, mp) for c in cond.args)
    if isinstance(cond, sp.Or):
        return any(_mp_cond(c, values, mp) for c in cond.args)
    if isinstance(cond, sp.core.relational.Relational):
        lhs, rhs = (_mp(a, values, mp) for a in cond.args)
        ops = {
            "<": lhs < rhs,
            "<=": lhs <= rhs,
            ">": lhs > rhs,
            ">=": lhs >= rhs,
            "==": lhs == rhs,
            "!=": lhs != rhs,
        }
        return bool(ops[cond.rel_op])
    return bool(cond)


def exact_gradient(
    expression: Expression, point: dict[str, float], sym: Symbolic | None = None
) -> dict[str, Any]:
    """sympy's derivative of every variable evaluated at ``point`` with mpmath, DPS digits."""
    sym = sym or symbolic(expression)
    return {name: evaluate(d, point, sym.symbols) for name, d in sym.derivatives.items()}


def to_float(x: Any) -> float | None:
    """An mpmath number as a float; None where it is not a finite real number."""
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None
