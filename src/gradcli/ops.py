"""THE op table: every operation gradcli knows, declared once.

Each :class:`Op` holds, side by side, everything any part of gradcli needs to know about one
operation: its forward value, its local derivatives (handed the forward output, so ``exp`` reuses
it), the rule in words, its sympy / mpmath / numpy / torch counterparts, its domain and its
convention at kinks. The parser (which names exist and how many arguments they take), the engine
(forward and backward), the symbolic and numeric layers, the torch cross-check and ``gradcli ops``
all read this table; nothing else lists operations.

Counterparts are functions of a module and the arguments (``lambda m, u: m.sin(u)``) so that the
heavy modules are imported only by whoever calls them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Fn = Callable[..., Any]


@dataclass(frozen=True)
class Op:
    """One operation. ``partials(out, *args)`` returns one local derivative per input."""

    name: str
    arity: int  # number of differentiable inputs; -1 = any number (at least ``min_args``)
    forward: Fn
    partials: Fn
    rule: tuple[str, ...]  # local derivative per input, in terms of u, v (, n)
    domain: str
    sympy: Fn
    mpmath: Fn
    numpy: Fn
    torch: Fn
    check: Fn | None = None  # (*args) -> reason it is undefined there, or None
    undefined: str = ""  # why the forward fails outside the domain ("log needs u > 0")
    notes: str = ""
    analytic: bool = True  # complex-step differentiation applies
    symbol: str = ""  # infix symbol, for operators
    params: int = 0  # trailing constant (non-differentiable) arguments, e.g. the n of u**n
    min_args: int = 1
    function: bool = False  # callable by name in expressions: sin(x)

    @property
    def call_arity(self) -> int:
        """How many arguments the expression syntax takes (-1: any number)."""
        return -1 if self.arity < 0 else self.arity + self.params

    def display_rule(self) -> str:
        """The derivative rule as one line of text, for ``gradcli ops``."""
        names = ("u", "v")
        if self.arity < 0:
            return f"d/du_i = {self.rule[0]}"
        return ", ".join(f"d/d{names[i]} = {r}" for i, r in enumerate(self.rule))


def _fn(name: str) -> Fn:
    """Counterpart that calls ``module.<name>(*args)``."""
    return lambda m, *a: getattr(m, name)(*a)


def _sigmoid(u: float) -> float:
    # Two branches so that neither exp overflows: both are exact forms of 1 / (1 + e^-u).
    if u >= 0:
        return 1.0 / (1.0 + math.exp(-u))
    z = math.exp(u)
    return z / (1.0 + z)


def _logsumexp(*u: float) -> float:
    # Shift by the maximum: exp never overflows and at least one term is exactly 1.
    m = max(u)
    return m + math.log(math.fsum(math.exp(x - m) for x in u))


def _pow_check(u: float, n: float) -> str | None:
    if u < 0 and n != int(n):
        return "a fractional power of a negative number is not a real number"
    if u == 0 and n < 0:
        return "a negative power of zero divides by zero"
    return None


def _powv_check(u: float, v: float) -> str | None:
    if u <= 0:
        return "a power with a variable exponent needs a positive base (d/dv u**v = u**v*log(u))"
    return None


def _div_check(u: float, v: float) -> str | None:
    return "division by zero" if v == 0 else None


def _inv_sqrt_1m(u: float) -> float:
    d = 1.0 - u * u
    return 1.0 / math.sqrt(d) if d > 0 else math.inf


def _np_relu(np: Any, u: Any) -> Any:
    return np.where(u.real > 0, u, 0.0 * u)


def _np_sigmoid(np: Any, u: Any) -> Any:
    # Written with tanh so that large |u| neither overflows nor warns, real or complex.
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _np_logsumexp(np: Any, *u: Any) -> Any:
    m = u[0].real.copy()
    for x in u[1:]:
        m = np.maximum(m, x.real)
    total = sum(np.exp(x - m) for x in u)
    return m + np.log(total)


def _sp_relu(sp: Any, u: Any) -> Any:
    # A Piecewise whose derivative is 0 at u = 0, the convention of PyTorch (sympy's Max would
    # differentiate to Heaviside(u), which is 1/2 at 0).
    return sp.Piecewise((u, u > 0), (0, True))


def _sp_logsumexp(sp: Any, *u: Any) -> Any:
    return sp.log(sp.Add(*[sp.exp(x) for x in u]))


def _mp_logsumexp(mp: Any, *u: Any) -> Any:
    m = max(u)
    return m + mp.log(mp.fsum(mp.exp(x - m) for x in u))


def _torch_pow(t: Any, u: Any, n: float) -> Any:
    return t.pow(u, n)


def _softmax(*u: float) -> tuple[float, ...]:
    m = max(u)
    e = [math.exp(x - m) for x in u]
    s = math.fsum(e)
    return tuple(x / s for x in e)


OPS: dict[str, Op] = {}


def _register(*ops: Op) -> None:
    for op in ops:
        OPS[op.name] = op


_register(
    # ---- arithmetic: what + - * / ** mean ---------------------------------------------------
    Op(
        "add",
        -1,
        lambda *u: math.fsum(u) if len(u) > 2 else u[0] + u[1],
        lambda out, *u: (1.0,) * len(u),
        ("1",),
        "all reals",
        sympy=lambda sp, *u: sp.Add(*u),
        mpmath=lambda mp, *u: mp.fsum(u),
        numpy=lambda np, *u: sum(u[1:], u[0]),
        torch=lambda t, *u: sum(u[1:], u[0]),
        symbol="+",
        min_args=2,
        notes="n-ary: a flat sum a + b + c is one node with n inputs",
    ),
    Op(
        "sub",
        2,
        lambda u, v: u - v,
        lambda out, u, v: (1.0, -1.0),
        ("1", "-1"),
        "all reals",
        sympy=lambda sp, u, v: u - v,
        mpmath=lambda mp, u, v: u - v,
        numpy=lambda np, u, v: u - v,
        torch=lambda t, u, v: u - v,
        symbol="-",
    ),
    Op(
        "mul",
        2,
        lambda u, v: u * v,
        lambda out, u, v: (v, u),
        ("v", "u"),
        "all reals",
        sympy=lambda sp, u, v: u * v,
        mpmath=lambda mp, u, v: u * v,
        numpy=lambda np, u, v: u * v,
        torch=lambda t, u, v: u * v,
        symbol="*",
    ),
    Op(
        "div",
        2,
        lambda u, v: u / v,
        lambda out, u, v: (1.0 / v, -out / v),
        ("1/v", "-u/v**2"),
        "v != 0",
        sympy=lambda sp, u, v: u / v,
        mpmath=lambda mp, u, v: u / v,
        numpy=lambda np, u, v: u / v,
        torch=lambda t, u, v: u / v,
        check=_div_check,
        undefined="division by zero",
        symbol="/",
    ),
    Op(
        "neg",
        1,
        lambda u: -u,
        lambda out, u: (-1.0,),
        ("-1",),
        "all reals",
        sympy=lambda sp, u: -u,
        mpmath=lambda mp, u: -u,
        numpy=lambda np, u: -u,
        torch=lambda t, u: -u,
        symbol="-",
    ),
    Op(
        "pow",
        1,
        lambda u, n: u**n,
        lambda out, u, n: (
            n * u ** (n - 1) if u != 0 or n >= 1 else (0.0 if n == 0 else math.inf),
        ),
        ("n*u**(n-1)",),
        "u**n, n constant: u >= 0 unless n is an integer; u != 0 if n < 0",
        sympy=lambda sp, u, n: u**n,
        mpmath=lambda mp, u, n: mp.power(u, n),
        numpy=lambda np, u, n: u**n,
        torch=_torch_pow,
        check=_pow_check,
        undefined="power undefined",
        symbol="**",
        params=1,
        notes="n is a constant; derivative infinite at u = 0 for 0 < n < 1 (reported as an error)",
    ),
    Op(
        "powv",
        2,
        lambda u, v: u**v,
        lambda out, u, v: (v * u ** (v - 1), out * math.log(u)),
        ("v*u**(v-1)", "u**v*log(u)"),
        "u > 0",
        sympy=lambda sp, u, v: u**v,
        mpmath=lambda mp, u, v: mp.power(u, v),
        numpy=lambda np, u, v: np.exp(v * np.log(u)),
        torch=lambda t, u, v: t.pow(u, v),
        check=_powv_check,
        undefined="a power with a variable exponent needs a positive base",
        symbol="**",
        notes="u**v where the exponent depends on a variable",
    ),
    # ---- functions of one argument -----------------------------------------------------------
    Op(
        "exp",
        1,
        math.exp,
        lambda out, u: (out,),
        ("exp(u)",),
        "all reals (overflows past 709.78)",
        sympy=_fn("exp"),
        mpmath=_fn("exp"),
        numpy=_fn("exp"),
        torch=_fn("exp"),
        undefined="exp is only defined up to about 709.78",
        function=True,
    ),
    Op(
        "log",
        1,
        math.log,
        lambda out, u: (1.0 / u,),
        ("1/u",),
        "u > 0",
        sympy=_fn("log"),
        mpmath=_fn("log"),
        numpy=_fn("log"),
        torch=_fn("log"),
        undefined="log needs a positive argument",
        function=True,
        notes="natural logarithm",
    ),
    Op(
        "sqrt",
        1,
        math.sqrt,
        lambda out, u: (0.5 / out if out else math.inf,),
        ("1/(2*sqrt(u))",),
        "u >= 0 (derivative infinite at 0)",
        sympy=_fn("sqrt"),
        mpmath=_fn("sqrt"),
        numpy=_fn("sqrt"),
        torch=_fn("sqrt"),
        undefined="sqrt needs an argument >= 0",
        function=True,
    ),
    Op(
        "sin",
        1,
        math.sin,
        lambda out, u: (math.cos(u),),
        ("cos(u)",),
        "all reals",
        sympy=_fn("sin"),
        mpmath=_fn("sin"),
        numpy=_fn("sin"),
        torch=_fn("sin"),
        function=True,
    ),
    Op(
        "cos",
        1,
        math.cos,
        lambda out, u: (-math.sin(u),),
        ("-sin(u)",),
        "all reals",
        sympy=_fn("cos"),
        mpmath=_fn("cos"),
        numpy=_fn("cos"),
        torch=_fn("cos"),
        function=True,
    ),
    Op(
        "tan",
        1,
        math.tan,
        lambda out, u: (1.0 + out * out,),
        ("1 + tan(u)**2",),
        "u != pi/2 + k*pi",
        sympy=_fn("tan"),
        mpmath=_fn("tan"),
        numpy=_fn("tan"),
        torch=_fn("tan"),
        function=True,
    ),
    Op(
        "tanh",
        1,
        math.tanh,
        lambda out, u: (1.0 - out * out,),
        ("1 - tanh(u)**2",),
        "all reals",
        sympy=_fn("tanh"),
        mpmath=_fn("tanh"),
        numpy=_fn("tanh"),
        torch=_fn("tanh"),
        function=True,
    ),
    Op(
        "sigmoid",
        1,
        _sigmoid,
        lambda out, u: (out * (1.0 - out),),
        ("sigmoid(u)*(1 - sigmoid(u))",),
        "all reals",
        sympy=lambda sp, u: 1 / (1 + sp.exp(-u)),
        mpmath=lambda mp, u: 1 / (1 + mp.exp(-u)),
        numpy=_np_sigmoid,
        torch=_fn("sigmoid"),
        function=True,
        notes="1/(1 + exp(-u)), computed without overflow for large |u|",
    ),
    Op(
        "abs",
        1,
        abs,
        lambda out, u: (1.0 if u > 0 else (-1.0 if u < 0 else 0.0),),
        ("sign(u)",),
        "all reals",
        sympy=_fn("Abs"),
        mpmath=lambda mp, u: abs(u),
        numpy=_fn("abs"),
        torch=_fn("abs"),
        analytic=False,
        function=True,
        notes="kink at 0: abs'(0) = 0, as in PyTorch",
    ),
    Op(
        "relu",
        1,
        lambda u: u if u > 0 else 0.0,
        lambda out, u: (1.0 if u > 0 else 0.0,),
        ("1 if u > 0 else 0",),
        "all reals",
        sympy=_sp_relu,
        mpmath=lambda mp, u: u if u > 0 else mp.mpf(0),
        numpy=_np_relu,
        torch=_fn("relu"),
        analytic=False,
        function=True,
        notes="kink at 0: relu'(0) = 0, as in PyTorch",
    ),
    Op(
        "asin",
        1,
        math.asin,
        lambda out, u: (_inv_sqrt_1m(u),),
        ("1/sqrt(1 - u**2)",),
        "-1 <= u <= 1 (derivative infinite at the ends)",
        sympy=_fn("asin"),
        mpmath=_fn("asin"),
        numpy=_fn("arcsin"),
        torch=_fn("asin"),
        undefined="asin needs an argument in [-1, 1]",
        function=True,
    ),
    Op(
        "acos",
        1,
        math.acos,
        lambda out, u: (-_inv_sqrt_1m(u),),
        ("-1/sqrt(1 - u**2)",),
        "-1 <= u <= 1 (derivative infinite at the ends)",
        sympy=_fn("acos"),
        mpmath=_fn("acos"),
        numpy=_fn("arccos"),
        torch=_fn("acos"),
        undefined="acos needs an argument in [-1, 1]",
        function=True,
    ),
    Op(
        "atan",
        1,
        math.atan,
        lambda out, u: (1.0 / (1.0 + u * u),),
        ("1/(1 + u**2)",),
        "all reals",
        sympy=_fn("atan"),
        mpmath=_fn("atan"),
        numpy=_fn("arctan"),
        torch=_fn("atan"),
        function=True,
    ),
    Op(
        "sinh",
        1,
        math.sinh,
        lambda out, u: (math.cosh(u),),
        ("cosh(u)",),
        "all reals (overflows past |u| = 710.47)",
        sympy=_fn("sinh"),
        mpmath=_fn("sinh"),
        numpy=_fn("sinh"),
        torch=_fn("sinh"),
        undefined="sinh overflows",
        function=True,
    ),
    Op(
        "cosh",
        1,
        math.cosh,
        lambda out, u: (math.sinh(u),),
        ("sinh(u)",),
        "all reals (overflows past |u| = 710.47)",
        sympy=_fn("cosh"),
        mpmath=_fn("cosh"),
        numpy=_fn("cosh"),
        torch=_fn("cosh"),
        undefined="cosh overflows",
        function=True,
    ),
    # ---- functions of many arguments ---------------------------------------------------------
    Op(
        "logsumexp",
        -1,
        _logsumexp,
        lambda out, *u: _softmax(*u),
        ("softmax(u)_i = exp(u_i - logsumexp(u))",),
        "all reals",
        sympy=_sp_logsumexp,
        mpmath=_mp_logsumexp,
        numpy=_np_logsumexp,
        torch=lambda t, *u: t.logsumexp(t.stack(u), dim=0),
        function=True,
        min_args=1,
        notes="log(exp(u_1) + ... + exp(u_n)), shifted by the maximum so it never overflows; "
        "logsumexp(a, b, c) - c is the NLL of target c",
    ),
)

#: names callable in expressions, e.g. ``sin(x)``
FUNCTIONS: dict[str, Op] = {name: op for name, op in OPS.items() if op.function}

#: named constants in expressions
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
