"""Exact references: the sympy expression, its derivatives, and their values at high precision.

sympy is imported only here, inside functions (``gradcli ops`` and ``--help`` never pay for it).
The sympy expression is built directly from the validated tree through the op table's ``sympy``
counterparts: user text never reaches ``sympify`` or ``parse_expr``. Values are computed with
mpmath at :data:`DPS` significant digits by walking the sympy tree.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from gradcli.errors import GradcliError
from gradcli.expr import Expression, Node, walk
from gradcli.ops import OPS

if TYPE_CHECKING:
    from gradcli.evaluate import Evaluation

#: significant digits of the exact reference
DPS = 50
#: above this many tree nodes, symbolic derivatives are skipped unless asked for (sympy's
#: canonical ordering and printing grow much faster than linearly on large sums)
SYMBOLIC_LIMIT = 2_000


#: deepest nesting of functions (sin(exp(tanh(...)))) sympy is asked to differentiate: its
#: derivative and printer recurse once per level, several frames each, and past ~40 levels
#: exceed Python's recursion limit (30 nested sigmoids already came within a few frames of it)
MAX_NESTING = 24


class SymbolicUnavailable(GradcliError):
    """sympy cannot give this expression's derivative (nested too deeply: it would recurse past
    Python's limit). Callers fall back to the 50-digit reverse pass (:func:`mp_gradient`), which
    needs no whole-expression derivative, and say so."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"symbolic derivative skipped: {reason}")
        self.reason = reason


def nesting(expression: Expression) -> int:
    """The deepest nesting of functions (not + - * /) on any path from the output to a leaf."""

    def visit(node: Node, depths: list[int]) -> int:
        inner = max(depths, default=0)
        return inner + (1 if node.kind == "op" and node.op.function else 0)

    return walk(expression.root, visit)


def check_nesting(expression: Expression) -> None:
    """Raise :class:`SymbolicUnavailable` before sympy is even tried on what it cannot do."""
    depth = nesting(expression)
    if depth > MAX_NESTING:
        raise SymbolicUnavailable(
            f"functions are nested {depth} levels deep, more than the {MAX_NESTING} sympy can "
            "differentiate without exceeding Python's recursion limit"
        )


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
    """sympy's derivative with respect to every variable (simplified if asked).

    Raises :class:`SymbolicUnavailable` when the expression is nested too deeply for sympy.
    """
    check_nesting(expression)
    try:
        result = _symbolic(expression, simplify)
        result.derivative_text()  # sympy's printer recurses too: find out now
    except RecursionError:
        raise SymbolicUnavailable(
            "sympy exceeded Python's recursion limit on this expression"
        ) from None
    return result


def _symbolic(expression: Expression, simplify: bool) -> Symbolic:
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
            if not (value.is_Number and value.is_real and value.is_finite):
                return mp.nan  # DiracDelta(0) (a second derivative at a kink) stays symbolic
            return mp.mpf(str(value))

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
    try:
        return {
            name: evaluate(d, point, sym.symbols) for name, d in sym.numeric_derivatives.items()
        }
    except RecursionError:
        raise SymbolicUnavailable(
            "evaluating sympy's derivative exceeded Python's recursion limit"
        ) from None


@dataclass
class Exact:
    """The exact gradient at a point and how it was obtained."""

    values: dict[str, Any]  # variable -> its partial derivative, an mpmath number (DPS digits)
    kind: str  # how, in words
    symbolic: Symbolic | None  # sympy's derivatives, when sympy was used
    skipped: str | None = None  # why sympy was not used, when it was not


def exact(
    expression: Expression,
    point: dict[str, float],
    *,
    simplify: bool = False,
    evaluation: Evaluation | None = None,
) -> Exact:
    """The 50-digit gradient: sympy's derivative evaluated with mpmath, or, for expressions too
    large for sympy or nested too deeply for it, the engine's reverse pass run in mpmath
    (:func:`mp_gradient`, on ``evaluation``'s Value graph when given: no second forward pass)."""
    if not expression.variables:
        return Exact({}, "none: the expression has no variables", None)
    reason = None
    if too_large(expression):
        reason = (
            f"the expression has {expression.size:,} nodes, more than {SYMBOLIC_LIMIT:,}: a "
            "whole symbolic derivative would be too slow"
        )
    else:
        try:
            sym = symbolic(expression, simplify=simplify)
            values = exact_gradient(expression, point, sym)
        except SymbolicUnavailable as exc:
            reason = exc.reason
        else:
            return Exact(values, f"sympy's derivative evaluated with mpmath at {DPS} digits", sym)
    kind = (
        f"reverse mode re-run in mpmath at {DPS} digits, each op's local derivative from sympy "
        f"({reason})"
    )
    return Exact(mp_gradient(expression, point, evaluation=evaluation), kind, None, reason)


def to_float(x: Any) -> float | None:
    """An mpmath number as a float; None where it is not a finite real number."""
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


# ---- the 50-digit reverse pass ------------------------------------------------------------------


@lru_cache(maxsize=256)
def _local_derivative(name: str, nargs: int, params: tuple[float, ...]) -> list[Any]:
    """d op / d (each argument) as mpmath functions of the arguments, from sympy.

    n-ary ops (add, max, logsumexp) are symmetric in their arguments, so the derivative with
    respect to argument i is the one for argument 0 with argument i moved to the front: one
    function serves them all. A derivative that is a constant (add's 1) comes back as that
    number, so a 6,000-term sum costs 6,000 steps, not 6,000 squared. sympy's derivative is
    evaluated by :func:`compile_mp`: nothing is compiled to source.
    """
    import mpmath as mp
    import sympy as sp

    op = OPS[name]
    us = sp.symbols(f"u0:{nargs}", real=True)
    ps = [sp.Integer(int(p)) if p == int(p) and abs(p) < 2**53 else sp.Float(p) for p in params]
    expr = op.sympy(sp, *us, *ps)
    wrt = us[:1] if op.arity < 0 else us
    out: list[Any] = []
    for u in wrt:
        d = sp.diff(expr, u)
        if d.is_Number:
            out.append(mp.mpf(evaluate(d, {}, {}, DPS)))
        else:
            fn = compile_mp(d, us)
            out.append(lambda *args, fn=fn: fn(args))
    return out


def mp_gradient(
    expression: Expression,
    point: dict[str, float],
    dps: int = DPS,
    evaluation: Evaluation | None = None,
) -> dict[str, Any]:
    """The gradient at ``dps`` significant digits: the engine's own backward pass
    (:func:`engine.backward_steps`) run over the Value graph in mpmath numbers.

    Forward values come from the op table's ``mpmath`` counterparts, node by node in the engine's
    order; the local derivatives from sympy's derivative of each op's ``sympy`` counterpart (one
    small symbolic derivative per op and arity, never one of the whole expression), so it scales
    linearly with the expression and works where sympy cannot differentiate the whole (nested
    too deeply). Numbers, pi, e and constant subexpressions are the doubles the engine uses.
    """
    import mpmath as mp

    from gradcli.engine import ZERO, Value, backward_steps
    from gradcli.evaluate import build

    ev = evaluation or build(expression, point, backward=False)
    order = ev.output.topo()
    with mp.workdps(dps + 10):
        value: dict[int, Any] = {}
        for v in order:
            if not v._prev:
                value[id(v)] = mp.mpf(v.data)
                continue
            params = getattr(v, "_params", ())
            args = [value[id(c)] for c in v._prev]
            value[id(v)] = OPS[v._op].mpmath(mp, *args, *(mp.mpf(p) for p in params))

        def local(v: Value) -> list[Any]:
            params = getattr(v, "_params", ())
            fns = _local_derivative(v._op, len(v._prev), tuple(params))
            args = [value[id(c)] for c in v._prev]
            extra = [mp.mpf(p) for p in params]
            if OPS[v._op].arity >= 0:
                return [f(*args, *extra) if callable(f) else f for f in fns]
            (f,) = fns
            if not callable(f):  # add: exactly 1 for every input, no multiplication
                return [1.0 if f == 1 else f] * len(args)
            return [f(args[i], *args[:i], *args[i + 1 :], *extra) for i in range(len(args))]

        saved = [n.grad for n in order]
        try:
            for n in order:
                n.grad = ZERO
            ev.output.grad = mp.mpf(1)
            deque(backward_steps(order, local), maxlen=0)
            gradient = {
                name: mp.mpf(0) if leaf.grad is ZERO else +leaf.grad
                for name, leaf in ev.leaves.items()
            }
        finally:
            for n, g in zip(order, saved):
                n.grad = g
    return gradient
