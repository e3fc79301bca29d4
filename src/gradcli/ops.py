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
from typing import Any, TypedDict

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
    prec: int = 9  # binding strength when written infix (Python's): + - 1, * / 2, unary - 3, ** 4
    # (*args) -> where the op is not differentiable, in words ("u = 0"), when the arguments sit
    # there; None elsewhere. The local derivatives there follow ``convention`` (PyTorch's).
    kink: Fn | None = None
    convention: str = ""

    @property
    def call_arity(self) -> int:
        """How many arguments the expression syntax takes (-1: any number)."""
        return -1 if self.arity < 0 else self.arity + self.params

    def input_names(self, n: int) -> list[str]:
        """What the rule calls each input: u, v for fixed arity; u_1 ... u_n for n-ary ops."""
        if self.arity < 0 and (n != 2 or "u_i" in self.rule[0]):
            return [f"u_{i + 1}" for i in range(n)]
        return ["u", "v"][:n]

    def form(self, n: int | None = None) -> str:
        """The op written in its inputs' names: ``u*v``, ``-u``, ``u**n``, ``sin(u)``,
        ``u_1 + u_2 + u_3``."""
        names = self.input_names(n if n is not None else (self.arity if self.arity > 0 else 2))
        if self.params:
            return f"{names[0]}{self.symbol}n" if self.symbol else f"{self.name}({names[0]}, n)"
        if self.function:
            return f"{self.name}({', '.join(names)})"
        if self.symbol and len(names) == 1:
            return f"{self.symbol}{names[0]}"
        if self.symbol:
            sep = self.symbol if self.prec >= 2 else f" {self.symbol} "
            return sep.join(names)
        return f"{self.name}({', '.join(names)})"

    def display_rule(self) -> str:
        """The derivative rule as one line of text, for ``gradcli ops``."""
        names = ("u", "v")
        if self.arity < 0:
            return f"d/du_i = {self.rule[0]}"
        return ", ".join(f"d/d{names[i]} = {r}" for i, r in enumerate(self.rule))


def _fn(name: str) -> Fn:
    """Counterpart that calls ``module.<name>(*args)``."""
    return lambda m, *a: getattr(m, name)(*a)


class _Counterparts(TypedDict):
    sympy: Fn
    mpmath: Fn
    numpy: Fn
    torch: Fn


def _named(name: str, *, sympy: str | None = None, numpy: str | None = None) -> _Counterparts:
    """The four counterparts of a function that every library spells (almost) alike."""
    return {
        "sympy": _fn(sympy or name),
        "mpmath": _fn(name),
        "numpy": _fn(numpy or name),
        "torch": _fn(name),
    }


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
    d = (1.0 - u) * (1.0 + u)  # not 1 - u*u, which loses digits near |u| = 1
    return 1.0 / math.sqrt(d) if d > 0 else math.inf


def _dsigmoid(out: float, u: float) -> tuple[float]:
    # sigmoid(u)*sigmoid(-u), not out*(1 - out): 1 - out is 0 once out rounds to 1 (u > 37)
    return (_sigmoid(u) * _sigmoid(-u),)


def _dtanh(out: float, u: float) -> tuple[float]:
    # sech(u)**2 = 4t/(1 + t)**2 with t = exp(-2|u|): 1 - out**2 is 0 once |out| rounds to 1
    t = math.exp(-2.0 * abs(u))
    return (4.0 * t / ((1.0 + t) * (1.0 + t)),)


def _np_pow(np: Any, u: Any, n: float) -> Any:
    # numpy's complex power goes through exp(n*log(u)) for |n| > 100, which loses the tiny
    # imaginary part complex-step differentiation needs; integer powers by repeated squaring.
    if not np.iscomplexobj(u) or n != int(n):
        return u**n
    k = abs(int(n))
    result = np.ones_like(u)
    base = u
    while k:
        if k & 1:
            result = result * base
        base = base * base
        k >>= 1
    return result if n >= 0 else 1.0 / result


def _np_relu(np: Any, u: Any) -> Any:
    return np.where(u.real > 0, u, 0.0 * u)


def _np_abs(np: Any, u: Any) -> Any:
    # the branch that holds at the point, so that a complex step away from 0 sees an analytic
    # function (np.abs of a complex number is its modulus, whose imaginary part is 0)
    return np.where(u.real >= 0, u, -u) if np.iscomplexobj(u) else np.abs(u)


def _kink_at_zero(u: float, *params: float) -> str | None:
    return "u = 0" if u == 0 else None


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


def _dpow(out: float, u: float, n: float) -> tuple[float]:
    if u != 0 or n >= 1:
        return (n * u ** (n - 1),)
    return (0.0 if n == 0 else math.inf,)  # 0 < n < 1: the slope at 0 is infinite


def _softmax(*u: float) -> tuple[float, ...]:
    m = max(u)
    e = [math.exp(x - m) for x in u]
    s = math.fsum(e)
    return tuple(x / s for x in e)


OPS: dict[str, Op] = {}


def _register(*ops: Op) -> None:
    for op in ops:
        OPS[op.name] = op


# One entry per operation. Positional fields: name, arity, forward(*args), partials(out, *args),
# rule per input, domain. Kept compact on purpose, so the table reads as a table.
# fmt: off
_register(
    # ---- arithmetic: what + - * / ** mean ----------------------------------------------------
    Op("add", -1, lambda *u: math.fsum(u) if len(u) > 2 else u[0] + u[1],
       lambda out, *u: (1.0,) * len(u), ("1",), "all reals",
       sympy=lambda sp, *u: sp.Add(*u), mpmath=lambda mp, *u: mp.fsum(u),
       numpy=lambda np, *u: sum(u[1:], u[0]), torch=lambda t, *u: sum(u[1:], u[0]),
       symbol="+", prec=1, min_args=2,
       notes="n-ary: a flat sum a + b + c is one node with n inputs"),
    Op("sub", 2, lambda u, v: u - v, lambda out, u, v: (1.0, -1.0), ("1", "-1"), "all reals",
       sympy=lambda sp, u, v: u - v, mpmath=lambda mp, u, v: u - v,
       numpy=lambda np, u, v: u - v, torch=lambda t, u, v: u - v, symbol="-", prec=1),
    Op("mul", 2, lambda u, v: u * v, lambda out, u, v: (v, u), ("v", "u"), "all reals",
       sympy=lambda sp, u, v: u * v, mpmath=lambda mp, u, v: u * v,
       numpy=lambda np, u, v: u * v, torch=lambda t, u, v: u * v, symbol="*", prec=2),
    Op("div", 2, lambda u, v: u / v, lambda out, u, v: (1.0 / v, -out / v),
       ("1/v", "-u/v**2"), "v != 0",
       sympy=lambda sp, u, v: u / v, mpmath=lambda mp, u, v: u / v,
       numpy=lambda np, u, v: u / v, torch=lambda t, u, v: u / v,
       check=_div_check, undefined="division by zero", symbol="/", prec=2),
    Op("neg", 1, lambda u: -u, lambda out, u: (-1.0,), ("-1",), "all reals",
       sympy=lambda sp, u: -u, mpmath=lambda mp, u: -u,
       numpy=lambda np, u: -u, torch=lambda t, u: -u, symbol="-", prec=3),
    Op("pow", 1, lambda u, n: u**n, _dpow, ("n*u**(n-1)",),
       "u**n, n constant: u >= 0 unless n is an integer; u != 0 if n < 0",
       sympy=lambda sp, u, n: u**n, mpmath=lambda mp, u, n: mp.power(u, n),
       numpy=_np_pow, torch=lambda t, u, n: t.pow(u, n),
       check=_pow_check, undefined="power undefined", symbol="**", prec=4, params=1,
       notes="n is a constant; derivative infinite at u = 0 for 0 < n < 1 (reported as an error)"),
    Op("powv", 2, lambda u, v: u**v, lambda out, u, v: (v * u ** (v - 1), out * math.log(u)),
       ("v*u**(v-1)", "u**v*log(u)"), "u > 0",
       sympy=lambda sp, u, v: u**v, mpmath=lambda mp, u, v: mp.power(u, v),
       numpy=lambda np, u, v: np.exp(v * np.log(u)), torch=lambda t, u, v: t.pow(u, v),
       check=_powv_check, undefined="a power with a variable exponent needs a positive base",
       symbol="**", prec=4, notes="u**v where the exponent depends on a variable"),
    # ---- functions of one argument -----------------------------------------------------------
    Op("exp", 1, math.exp, lambda out, u: (out,), ("exp(u)",), "all reals (overflows past 709.78)",
       **_named("exp"), function=True),
    Op("log", 1, math.log, lambda out, u: (1.0 / u,), ("1/u",), "u > 0",
       **_named("log"), undefined="log needs a positive argument", function=True,
       notes="natural logarithm"),
    Op("sqrt", 1, math.sqrt, lambda out, u: (0.5 / out if out else math.inf,),
       ("1/(2*sqrt(u))",), "u >= 0 (derivative infinite at 0)",
       **_named("sqrt"), undefined="sqrt needs an argument >= 0", function=True),
    Op("sin", 1, math.sin, lambda out, u: (math.cos(u),), ("cos(u)",), "all reals",
       **_named("sin"), function=True),
    Op("cos", 1, math.cos, lambda out, u: (-math.sin(u),), ("-sin(u)",), "all reals",
       **_named("cos"), function=True),
    Op("tan", 1, math.tan, lambda out, u: (1.0 + out * out,), ("1 + tan(u)**2",),
       "u != pi/2 + k*pi", **_named("tan"), function=True),
    Op("tanh", 1, math.tanh, _dtanh, ("1 - tanh(u)**2",), "all reals",
       **_named("tanh"), function=True,
       notes="derivative computed as sech(u)**2, exact where 1 - tanh(u)**2 rounds to 0"),
    Op("sigmoid", 1, _sigmoid, _dsigmoid, ("sigmoid(u)*(1 - sigmoid(u))",), "all reals",
       sympy=lambda sp, u: 1 / (1 + sp.exp(-u)), mpmath=lambda mp, u: 1 / (1 + mp.exp(-u)),
       numpy=_np_sigmoid, torch=_fn("sigmoid"), function=True,
       notes="1/(1 + exp(-u)), computed without overflow for large |u|"),
    Op("abs", 1, abs, lambda out, u: (1.0 if u > 0 else (-1.0 if u < 0 else 0.0),),
       ("sign(u)",), "all reals",
       sympy=_fn("Abs"), mpmath=lambda mp, u: abs(u), numpy=_np_abs, torch=_fn("abs"),
       analytic=False, function=True, notes="kink at 0: abs'(0) = 0, as in PyTorch",
       kink=_kink_at_zero, convention="abs'(0) = 0"),
    Op("relu", 1, lambda u: u if u > 0 else 0.0, lambda out, u: (1.0 if u > 0 else 0.0,),
       ("1 if u > 0 else 0",), "all reals",
       sympy=_sp_relu, mpmath=lambda mp, u: u if u > 0 else mp.mpf(0),
       numpy=_np_relu, torch=_fn("relu"),
       analytic=False, function=True, notes="kink at 0: relu'(0) = 0, as in PyTorch",
       kink=_kink_at_zero, convention="relu'(0) = 0"),
    Op("asin", 1, math.asin, lambda out, u: (_inv_sqrt_1m(u),), ("1/sqrt(1 - u**2)",),
       "-1 <= u <= 1 (derivative infinite at the ends)",
       **_named("asin", numpy="arcsin"), undefined="asin needs an argument in [-1, 1]",
       function=True),
    Op("acos", 1, math.acos, lambda out, u: (-_inv_sqrt_1m(u),), ("-1/sqrt(1 - u**2)",),
       "-1 <= u <= 1 (derivative infinite at the ends)",
       **_named("acos", numpy="arccos"), undefined="acos needs an argument in [-1, 1]",
       function=True),
    Op("atan", 1, math.atan, lambda out, u: (1.0 / (1.0 + u * u),), ("1/(1 + u**2)",),
       "all reals", **_named("atan", numpy="arctan"), function=True),
    Op("sinh", 1, math.sinh, lambda out, u: (math.cosh(u),), ("cosh(u)",),
       "all reals (overflows past |u| = 710.47)", **_named("sinh"), function=True),
    Op("cosh", 1, math.cosh, lambda out, u: (math.sinh(u),), ("sinh(u)",),
       "all reals (overflows past |u| = 710.47)", **_named("cosh"), function=True),
    # ---- functions of many arguments ---------------------------------------------------------
    Op("logsumexp", -1, _logsumexp, lambda out, *u: _softmax(*u),
       ("softmax(u)_i = exp(u_i - logsumexp(u))",), "all reals",
       sympy=_sp_logsumexp, mpmath=_mp_logsumexp, numpy=_np_logsumexp,
       torch=lambda t, *u: t.logsumexp(t.stack(u), dim=0), function=True, min_args=1,
       notes="log(exp(u_1) + ... + exp(u_n)), shifted by the maximum so it never overflows; "
       "logsumexp(a, b, c) - c is the NLL of target c"),
)
# fmt: on

#: names callable in expressions, e.g. ``sin(x)``
FUNCTIONS: dict[str, Op] = {name: op for name, op in OPS.items() if op.function}

#: named constants in expressions
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
