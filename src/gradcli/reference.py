"""Exact references: the sympy expression, its derivatives, and their values at high precision.

sympy is imported only here, inside functions (``gradcli ops`` and ``--help`` never pay for it).
The sympy expression is built directly from the validated tree through the op table's ``sympy``
counterparts: user text never reaches ``sympify`` or ``parse_expr``. Values are computed with
mpmath at :data:`DPS` significant digits by walking the sympy tree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcli.expr import Expression, Node, walk

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
    # the derivatives with pi and e as doubles (see to_sympy): what references evaluate
    numeric_derivatives: dict[str, Any] = field(default_factory=dict)

    def derivative_text(self) -> dict[str, str]:
        return {name: str(d) for name, d in self.derivatives.items()}


def too_large(expression: Expression) -> bool:
    return expression.size > SYMBOLIC_LIMIT


def to_sympy(expression: Expression, exact_constants: bool = True) -> tuple[Any, dict[str, Any]]:
    """The sympy expression of the tree, with one real symbol per variable.

    With ``exact_constants`` pi and e are sympy's exact constants (for showing derivatives);
    without, they and every subexpression without variables are the doubles the engine uses, so
    that a reference value is the derivative of the function actually computed (sympy would make
    sin(pi) exactly 0, where the float computation gets 1.2e-16).
    """
    import sympy as sp

    symbols = {name: sp.Symbol(name, real=True) for name in expression.variables}
    constants = {"pi": sp.pi, "e": sp.E}

    def visit(node: Node, args: list[Any]) -> Any:
        if node.kind == "var":
            return symbols[node.name]
        if node.kind == "const":
            return constants[node.name] if exact_constants else sp.Float(node.const)
        if node.kind == "op" and node.const is not None and not exact_constants:
            # a constant subexpression as the double the engine computed (it is one leaf of
            # the Value graph): sin(exp(1.5)**403.4) is ill-conditioned, and its exact value
            # is not what any float computation uses
            return sp.Float(node.const)
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
    result.numeric_derivatives = result.derivatives
    if any(n.kind == "const" or (n.kind == "op" and n.const is not None) for n in expression.nodes):
        numeric, _ = to_sympy(expression, exact_constants=False)
        numeric = numeric.xreplace({sp.Symbol(n, real=True): s for n, s in symbols.items()})
        result.numeric_derivatives = {n: sp.diff(numeric, s) for n, s in symbols.items()}
    return result


def evaluate(expr: Any, point: dict[str, float], symbols: dict[str, Any], dps: int = DPS) -> Any:
    """The value of a sympy expression at ``point`` as an mpmath number with ``dps`` digits."""
    import mpmath

    names = list(symbols)
    fn = compile_mp(expr, [symbols[n] for n in names])
    with mpmath.workdps(dps + 10):
        return fn([mpmath.mpf(point[n]) for n in names])


MpFn = Callable[[Sequence[Any]], Any]


def compile_mp(expr: Any, symbols: Sequence[Any]) -> MpFn:
    """Turn a sympy expression into a function of a list of mpmath numbers (one per symbol).

    The expression is walked once, into a tree of small closures over mpmath functions; calling
    the result evaluates at whatever precision mpmath is set to. Nothing is compiled to Python
    source and nothing is ``eval``-ed. Out of a function's real domain the result is ``nan``.
    """
    import mpmath as mp
    import sympy as sp

    index = {s: i for i, s in enumerate(symbols)}

    def build(e: Any) -> MpFn:  # recursion depth = sympy's nesting depth, which stays small
        if e.is_Symbol:
            i = index[e]
            return lambda v: v[i]
        if e.is_Integer:
            n = mp.mpf(int(e))  # integers are exact at any precision: make them once
            return lambda v: n
        if e.is_Rational:
            p, q = int(e.p), int(e.q)
            return lambda v: mp.mpf(p) / q
        if e.is_Float:
            c = mp.mpf(e._mpf_)  # exact binary value: precision-independent
            return lambda v: c
        if e is sp.pi:
            return lambda v: +mp.pi
        if e is sp.E:
            return lambda v: mp.e * 1
        if e.is_Add:
            terms = [build(a) for a in e.args]
            return lambda v: mp.fsum(t(v) for t in terms)
        if e.is_Mul:
            factors = [build(a) for a in e.args]

            def mul(v: Sequence[Any]) -> Any:
                out = mp.mpf(1)
                for f in factors:
                    out *= f(v)
                return out

            return mul
        if e.is_Pow:
            base, expo = build(e.args[0]), build(e.args[1])
            return lambda v: _mp_pow(mp, base(v), expo(v))
        if isinstance(e, sp.Piecewise):
            pieces = [(build(val), _build_cond(cond, build)) for val, cond in e.args]

            def piecewise(v: Sequence[Any]) -> Any:
                for val, cond in pieces:
                    if cond(v):
                        return val(v)
                return mp.nan

            return piecewise
        if isinstance(e, sp.Abs):
            arg = build(e.args[0])
            return lambda v: abs(arg(v))
        if isinstance(e, sp.sign):
            arg = build(e.args[0])
            return lambda v: mp.sign(arg(v))
        if isinstance(e, sp.Heaviside):
            arg = build(e.args[0])
            h0 = build(e.args[1]) if len(e.args) > 1 else (lambda v: mp.mpf(0.5))

            def heaviside(v: Sequence[Any]) -> Any:
                x = arg(v)
                return mp.mpf(1) if x > 0 else (h0(v) if x == 0 else mp.mpf(0))

            return heaviside
        own = getattr(type(e), "_mpmath", None)  # gradcli's own sympy functions (ops.py)
        if own is not None:
            args = [build(a) for a in e.args]
            return lambda v: own(mp, *[a(v) for a in args])
        fn = getattr(mp, type(e).__name__, None)
        if isinstance(e, sp.Function) and fn is not None:
            args = [build(a) for a in e.args]
            return lambda v: _mp_call(mp, fn, [a(v) for a in args])

        # anything else sympy may produce: let sympy evaluate it (slower, still exact);
        # what is not a real number (zoo, a complex value) becomes nan
        def fallback(v: Sequence[Any]) -> Any:
            value = e.subs(dict(zip(symbols, v, strict=True))).evalf(mp.mp.dps)
            return mp.mpf(str(value)) if value.is_real and value.is_finite else mp.nan

        return fallback

    return build(expr)


def _mp_pow(mp: Any, base: Any, expo: Any) -> Any:
    if base < 0 and expo != int(expo):
        return mp.nan
    if base == 0 and expo < 0:
        return mp.inf
    return mp.power(base, expo)


def _mp_call(mp: Any, fn: Any, args: list[Any]) -> Any:
    out = fn(*args)
    return out if not isinstance(out, mp.mpc) else mp.nan  # outside the real domain


def _build_cond(cond: Any, build: Callable[[Any], MpFn]) -> Callable[[Sequence[Any]], bool]:
    import sympy as sp

    if cond is sp.true:
        return lambda v: True
    if cond is sp.false:
        return lambda v: False
    if isinstance(cond, sp.And):
        parts = [_build_cond(c, build) for c in cond.args]
        return lambda v: all(p(v) for p in parts)
    if isinstance(cond, sp.Or):
        parts = [_build_cond(c, build) for c in cond.args]
        return lambda v: any(p(v) for p in parts)
    if isinstance(cond, sp.core.relational.Relational):
        lhs, rhs = build(cond.lhs), build(cond.rhs)
        compare = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
        }[cond.rel_op]
        return lambda v: bool(compare(lhs(v), rhs(v)))
    if isinstance(cond, sp.Not):
        inner = _build_cond(cond.args[0], build)
        return lambda v: not inner(v)
    if isinstance(cond, sp.ITE):  # nested Piecewise conditions: if a then b else c
        a, b, c = (_build_cond(x, build) for x in cond.args)
        return lambda v: b(v) if a(v) else c(v)
    # anything else: let sympy decide at the point
    symbols = {s: build(s) for s in cond.free_symbols}
    return lambda v: bool(cond.subs({s: f(v) for s, f in symbols.items()}))


def exact_gradient(
    expression: Expression, point: dict[str, float], sym: Symbolic | None = None
) -> dict[str, Any]:
    """sympy's derivative of every variable evaluated at ``point`` with mpmath, DPS digits."""
    sym = sym or symbolic(expression)
    return {name: evaluate(d, point, sym.symbols) for name, d in sym.numeric_derivatives.items()}


def to_float(x: Any) -> float | None:
    """An mpmath number as a float; None where it is not a finite real number."""
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None
