"""THE op table: every operation gradcli knows, declared once.

Each :class:`Op` holds, side by side, everything any part of gradcli needs to know about one
operation:

* its forward value and its local derivatives, as floats (handed the forward output, so ``exp``
  reuses it) and as functions of Values (``vpartials``, for gradients of gradients);
* the rule in words, as a template with named slots (``{u}``, ``{v}``, ``{n}``, ``{ui}``), its
  domain, the convention at kinks, poles, and where PyTorch itself differs from the mathematics;
* its sympy / mpmath / numpy / torch counterparts;
* its syntax: infix symbol, binding strength and associativity, the name it is called by,
  aliases, hints for names people type that mean something else;
* sample points of its domain for the per-op tests.

The parser (names, operators, precedence), the engine (forward, backward, second order, the
Value methods), constant folding, the symbolic and numeric layers, the torch cross-check, the
learner checker and ``gradcli ops`` all read this table; nothing else lists operations.

Counterparts are functions of a module and the arguments (``lambda m, u: m.sin(u)``) so that the
heavy modules are imported only by whoever calls them. ``vpartials`` receive Values and return
Values or plain floats (a float is a constant: its own derivative is 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypedDict

Fn = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Op:
    """One operation. ``partials(out, *args)`` returns one local derivative per input."""

    name: str
    arity: int  # number of differentiable inputs; -1 = any number (at least ``min_args``)
    forward: Fn
    partials: Fn
    vpartials: Fn  # (out, *inputs, *params) -> local derivatives as Values (or float constants)
    rule: tuple[str, ...]  # local derivative per input, a template: {u} {v} {n} {n1} {ui} {args}
    domain: str
    sympy: Fn
    mpmath: Fn
    numpy: Fn
    torch: Fn
    check: Fn | None = None  # (*args) -> reason it is undefined there, or None
    undefined: str = ""  # why the forward fails outside the domain ("log needs u > 0")
    notes: str = ""  # one short line for the ops table
    details: str = ""  # everything else worth knowing (gradcli ops NAME)
    analytic: bool = True  # analytic everywhere in its domain (complex step always applies)
    # (*args) -> where the op is not differentiable, in words ("u = 0"), when the arguments sit
    # there; None elsewhere. The local derivatives there follow ``convention`` (PyTorch's).
    kink: Fn | None = None
    convention: str = ""
    # (*args) -> where the first derivative is continuous but the second jumps (elu at 0), in
    # words; None elsewhere. The Hessian there follows ``convention2`` (PyTorch's).
    kink2: Fn | None = None
    convention2: str = ""
    pole: Fn | None = None  # (*args) -> a warning when the arguments sit on (next to) a pole
    # (*args) -> (why, bound) where PyTorch's own function differs from the mathematics there:
    # the value and each partial may differ from torch's by up to ``bound``
    torch_gap: Fn | None = None
    symbol: str = ""  # infix or prefix symbol, for operators
    symbols: tuple[str, ...] = ()  # other spellings of the symbol ("^" for "**")
    prec: int = 9  # binding strength when written infix (Python's): + - 1, * / 2, unary - 3, ** 4
    right: bool = False  # right-associative (u**v**w is u**(v**w))
    params: tuple[str, ...] = ()  # trailing constant (non-differentiable) arguments, e.g. n
    params_check: Fn | None = None  # (*params) -> why these parameters are not allowed, or None
    defaults: tuple[float, ...] = ()  # defaults of the last params (leaky_relu's slope 0.01)
    min_args: int = 1
    function: bool = False  # callable by name in expressions: sin(x)
    call: str = ""  # the name it is called by, when that is not ``name`` (logb is log(u, b))
    aliases: tuple[str, ...] = ()  # other names accepted for it (ln for log)
    hints: tuple[tuple[str, str], ...] = ()  # (a name gradcli does not know, what to write)
    samples: tuple[tuple[float, ...], ...] = ()  # points (inputs, then params) for the tests

    @property
    def spelling(self) -> str:
        """The name an expression calls it by."""
        return self.call or self.name

    @property
    def call_arity(self) -> int:
        """How many arguments the expression syntax takes at most (-1: any number)."""
        return -1 if self.arity < 0 else self.arity + len(self.params)

    @property
    def least_args(self) -> int:
        """How many arguments the expression syntax takes at least."""
        if self.arity < 0:
            return self.min_args
        return self.arity + len(self.params) - len(self.defaults)

    def input_names(self, n: int) -> list[str]:
        """What the rule calls each input: u, v for fixed arity; u_1 ... u_n for n-ary ops."""
        if self.arity < 0 and (n != 2 or "{ui}" in self.rule[0] or "{args}" in self.rule[0]):
            return [f"u_{i + 1}" for i in range(n)]
        return ["u", "v", "w"][:n]

    def form(self, n: int | None = None, params: tuple[str, ...] | None = None) -> str:
        """The op written in its inputs' names: ``u*v``, ``-u``, ``u**n``, ``sin(u)``,
        ``leaky_relu(u, slope)``, ``u_1 + u_2 + u_3``; ``params`` replaces the parameters'
        names (``u**3``)."""
        names = self.input_names(n if n is not None else (self.arity if self.arity > 0 else 2))
        shown = params if params is not None else self.params
        if self.symbol and self.params:
            return f"{names[0]}{self.symbol}{shown[0]}"
        if self.symbol and len(names) == 1:
            return f"{self.symbol}{names[0]}"
        if self.symbol:
            sep = self.symbol if self.prec >= 2 else f" {self.symbol} "
            return sep.join(names)
        return f"{self.spelling}({', '.join([*names, *shown])})"

    def rule_text(
        self,
        position: int,
        names: list[str] | None = None,
        params: tuple[str, ...] | None = None,
    ) -> str:
        """The local derivative for input ``position`` in words, with the inputs called ``names``
        and the constant parameters written as ``params`` (both default to the symbolic names)."""
        n_inputs = len(names) if names is not None else max(self.arity, 2)
        names = names if names is not None else self.input_names(n_inputs)
        params = params if params is not None else self.params
        slots: dict[str, str] = dict(zip(self.params, params))
        slots.update(u=names[0], v=names[1] if len(names) > 1 else "v")
        slots["ui"] = names[position] if self.arity < 0 else names[0]
        slots["args"] = _join_args(names)
        if self.params[:1] == ("n",):
            slots["n1"] = _minus_one(params[0])
        template = self.rule[min(position, len(self.rule) - 1)]
        return template.format(**slots)

    @property
    def syntax(self) -> str:
        """How expressions write it: ``u**n, u^n``, ``leaky_relu(u), leaky_relu(u, slope)``,
        ``max(u_1, u_2, ...)``."""
        form = self.form()
        if self.arity < 0:
            form = form.replace("u_2", "u_2, ...") if self.function else form + " + ..."
        if self.symbols:
            form += ", " + form.replace(self.symbol, self.symbols[0])
        if self.defaults:
            dropped = ", " + ", ".join(self.params[-len(self.defaults) :])
            form = f"{form.replace(dropped, '')}, {form}"
        return form

    def display_rule(self) -> str:
        """The derivative rule as one line of text, for ``gradcli ops``."""
        if self.arity < 0:
            slots = dict(u="u_1", v="u_2", ui="u_i", args="u_1, ..., u_n")
            return f"d/du_i = {self.rule[0].format(**slots)}"
        names = self.input_names(self.arity)
        return ", ".join(f"d/d{names[i]} = {self.rule_text(i, names)}" for i in range(self.arity))


def _join_args(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 4 else f"{names[0]}, {names[1]}, ..., {names[-1]}"


def _minus_one(n: str) -> str:
    """``n - 1`` written for a rule: ``(n-1)`` for the symbol, ``2`` for 3, ``(-0.5)`` for 0.5."""
    try:
        x = float(n) - 1
    except ValueError:
        return f"({n}-1)"
    text = f"{x:g}"
    return text if x >= 0 else f"({text})"


def _fn(name: str) -> Fn:
    """Counterpart that calls ``module.<name>(*args)``."""
    return lambda m, *a: getattr(m, name)(*a)


class _Counterparts(TypedDict):
    sympy: Fn
    mpmath: Fn
    numpy: Fn
    torch: Fn


def _named(
    name: str, *, sympy: str | None = None, numpy: str | None = None, torch: str | None = None
) -> _Counterparts:
    """The four counterparts of a function that every library spells (almost) alike."""
    return {
        "sympy": _fn(sympy or name),
        "mpmath": _fn(name),
        "numpy": _fn(numpy or name),
        "torch": _fn(torch or name),
    }


# ---- float helpers ----------------------------------------------------------------------------


def _sigmoid(u: float) -> float:
    # Two branches so that neither exp overflows: both are exact forms of 1 / (1 + e^-u).
    if u >= 0:
        return 1.0 / (1.0 + math.exp(-u))
    z = math.exp(u)
    return z / (1.0 + z)


def _softplus(u: float) -> float:
    # log(1 + e^u) = max(u, 0) + log1p(e^-|u|): exact for u = -30 (9.4e-14), no overflow at 1000
    return max(u, 0.0) + math.log1p(math.exp(-abs(u)))


def _sech2(u: float) -> float:
    # sech(u)**2 = 4t/(1 + t)**2 with t = exp(-2|u|): 1 - tanh(u)**2 is 0 once |tanh| rounds to 1
    t = math.exp(-2.0 * abs(u))
    return 4.0 * t / ((1.0 + t) * (1.0 + t))


def _logsumexp(*u: float) -> float:
    # Shift by the maximum: exp never overflows and at least one term is exactly 1.
    m = max(u)
    return m + math.log(math.fsum(math.exp(x - m) for x in u))


def _softmax(*u: float) -> tuple[float, ...]:
    m = max(u)
    e = [math.exp(x - m) for x in u]
    s = math.fsum(e)
    return tuple(x / s for x in e)


def _cbrt(u: float) -> float:
    cbrt = getattr(math, "cbrt", None)  # Python 3.11+
    if cbrt is not None:
        return float(cbrt(u))
    r = math.copysign(abs(u) ** (1.0 / 3.0), u)
    return r - (r * r * r - u) / (3.0 * r * r) if r else r  # one Newton step: last-bit accurate


SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LN2 = math.log(2.0)
LN10 = math.log(10.0)
# SELU's constants (Klambauer et al. 2017), as PyTorch spells them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _gelu(u: float) -> float:
    return 0.5 * u * math.erfc(-u / SQRT2)  # u * Phi(u), exact in the lower tail too


def _dgelu(out: float, u: float) -> tuple[float]:
    return (0.5 * math.erfc(-u / SQRT2) + u * INV_SQRT_2PI * math.exp(-0.5 * u * u),)


def _dsilu(out: float, u: float) -> tuple[float]:
    s = _sigmoid(u)
    return (s + u * s * _sigmoid(-u),)  # sigmoid(-u), not 1 - s: exact for large u


def _mish(u: float) -> float:
    return u * math.tanh(_softplus(u))


def _dmish(out: float, u: float) -> tuple[float]:
    sp = _softplus(u)
    return (math.tanh(sp) + u * _sech2(sp) * _sigmoid(u),)


def _elu(u: float) -> float:
    return u if u > 0 else math.expm1(u)


def _selu(u: float) -> float:
    return SELU_SCALE * (u if u > 0 else SELU_ALPHA * math.expm1(u))


def _inv_sqrt_1m(u: float) -> float:
    d = (1.0 - u) * (1.0 + u)  # not 1 - u*u, which loses digits near |u| = 1
    return 1.0 / math.sqrt(d) if d > 0 else math.inf


def _dpow(out: float, u: float, n: float) -> tuple[float]:
    if u != 0 or n >= 1:
        return (n * u ** (n - 1),)
    return (0.0 if n == 0 else math.inf,)  # 0 < n < 1: the slope at 0 is infinite


def _ties(u: tuple[float, ...], m: float) -> tuple[float, ...]:
    # max/min: the gradient goes to the extreme argument; a k-way tie splits it evenly (PyTorch)
    k = sum(1 for x in u if x == m)
    share = 1.0 / k
    return tuple(share if x == m else 0.0 for x in u)


def _atan2_partials(out: float, y: float, x: float) -> tuple[float, float]:
    r = math.hypot(x, y)  # (x/r)/r, not x/(x*x + y*y), which overflows for |x| > 1e154
    return ((x / r) / r, (-y / r) / r)


# ---- checks, kinks, poles ---------------------------------------------------------------------


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


def _logb_check(u: float, b: float) -> str | None:
    if u <= 0:
        return "log needs a positive argument"
    if b <= 0 or b == 1:
        return f"the base of a logarithm must be positive and not 1, and it is {b:.6g}"
    return None


def _origin_check(name: str) -> Fn:
    def check(a: float, b: float) -> str | None:
        if a == 0 and b == 0:
            return f"{name}(0, 0) has no derivative (every direction gives another slope)"
        return None

    return check


def _clamp_bounds(lo: float, hi: float) -> str | None:
    return f"clamp needs lo <= hi (here lo = {lo:g}, hi = {hi:g})" if lo > hi else None


def _clamp_check(u: float, lo: float, hi: float) -> str | None:
    return _clamp_bounds(lo, hi)


def _at_zero(u: float, *params: float) -> str | None:
    return "u = 0" if u == 0 else None


def _jump_at_zero(u: float) -> str | None:
    return "u = 0, where sign jumps from -1 to 1" if u == 0 else None


def _jump_at_integer(u: float) -> str | None:
    return f"u = {u:g}, an integer, where the step jumps by 1" if u == int(u) else None


def _tie(*u: float) -> str | None:
    return None if len(set(u)) == len(u) or _tied(u) < 2 else "two arguments tie for the extreme"


def _tied(u: tuple[float, ...]) -> int:
    m = max(u)
    return sum(1 for x in u if x == m)


def _tie_min(*u: float) -> str | None:
    return _tie(*(-x for x in u))


def _clamp_kink(u: float, lo: float, hi: float) -> str | None:
    if u == lo:
        return "u = lo"
    return "u = hi" if u == hi else None


def _atan2_cut(y: float, x: float) -> str | None:
    if y == 0 and x < 0:
        return "y = 0 with x < 0, atan2's branch cut (it jumps from pi to -pi)"
    return None


def _tan_pole(u: float) -> str | None:
    if abs(math.cos(u)) < 1e-8:
        return (
            "tan(u) sits next to a pole (u is within 1e-8 of pi/2 + k*pi): its value and slope "
            "are huge and change sign across it"
        )
    return None


def _softplus_gap(u: float) -> tuple[str, float] | None:
    if u > 20:
        return (
            "torch's softplus returns u itself past its threshold of 20; log(1 + e^u) is "
            "larger by log1p(e^-u)",
            2.0 * math.exp(-u),
        )
    return None


# ---- numpy counterparts (real and complex: complex step evaluates them at x + ih) ---------------


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


# Non-analytic ops are written as the branch that holds at the point (chosen by the real part),
# so that a complex step away from the kink sees an analytic function.


def _np_relu(np: Any, u: Any) -> Any:
    return np.where(u.real > 0, u, 0.0 * u)


def _np_abs(np: Any, u: Any) -> Any:
    # np.abs of a complex number is its modulus, whose imaginary part is 0
    return np.where(u.real >= 0, u, -u) if np.iscomplexobj(u) else np.abs(u)


def _np_sigmoid(np: Any, u: Any) -> Any:
    # Written with tanh so that large |u| neither overflows nor warns, real or complex.
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _np_softplus(np: Any, u: Any) -> Any:
    if not np.iscomplexobj(u):
        return np.logaddexp(0.0, u)
    return np.where(u.real > 0, u + np.log1p(np.exp(-u)), np.log1p(np.exp(u)))


def _np_special(name: str) -> Fn:
    """erf and erfc, which numpy does not have: math's for real arrays, mpmath's (element by
    element) for complex ones."""

    def fn(np: Any, u: Any) -> Any:
        if np.iscomplexobj(u):
            import mpmath

            f = getattr(mpmath, name)
            return np.asarray(np.frompyfunc(lambda z: complex(f(z)), 1, 1)(u), dtype=complex)
        return np.asarray(np.frompyfunc(getattr(math, name), 1, 1)(u), dtype=float)

    return fn


_np_erf = _np_special("erf")
_np_erfc = _np_special("erfc")


def _np_gelu(np: Any, u: Any) -> Any:
    return 0.5 * u * _np_erfc(np, -u / SQRT2)


def _np_silu(np: Any, u: Any) -> Any:
    return u * _np_sigmoid(np, u)


def _np_mish(np: Any, u: Any) -> Any:
    return u * np.tanh(_np_softplus(np, u))


def _np_elu(np: Any, u: Any) -> Any:
    return np.where(u.real > 0, u, np.expm1(u))


def _np_selu(np: Any, u: Any) -> Any:
    return SELU_SCALE * np.where(u.real > 0, u, SELU_ALPHA * np.expm1(u))


def _np_leaky(np: Any, u: Any, slope: float) -> Any:
    return np.where(u.real > 0, u, slope * u)


def _np_cbrt(np: Any, u: Any) -> Any:
    if not np.iscomplexobj(u):
        return np.cbrt(u)
    return np.where(u.real >= 0, u ** (1 / 3), -((-u) ** (1 / 3)))  # the real root's branch


def _np_atan2(np: Any, y: Any, x: Any) -> Any:
    if not (np.iscomplexobj(y) or np.iscomplexobj(x)):
        return np.arctan2(y, x)
    y, x = y + 0j, x + 0j
    with np.errstate(all="ignore"):
        offset = np.where(x.real > 0, 0.0, np.where(y.real >= 0, np.pi, -np.pi))
        wide = np.arctan(y / x) + offset
        tall = np.sign(y.real) * np.pi / 2 - np.arctan(x / y)
    return np.where(np.abs(x.real) >= np.abs(y.real), wide, tall)


def _np_hypot(np: Any, x: Any, y: Any) -> Any:
    if not (np.iscomplexobj(x) or np.iscomplexobj(y)):
        return np.hypot(x, y)
    return np.sqrt(x * x + y * y)


def _np_extreme(largest: bool) -> Fn:
    def fn(np: Any, *u: Any) -> Any:
        m = u[0]
        for x in u[1:]:
            m = np.where(x.real > m.real, x, m) if largest else np.where(x.real < m.real, x, m)
        return m

    return fn


def _np_clamp(np: Any, u: Any, lo: float, hi: float) -> Any:
    return np.where(u.real < lo, lo + 0 * u, np.where(u.real > hi, hi + 0 * u, u))


def _np_step(name: str) -> Fn:
    return lambda np, u: getattr(np, name)(u.real) + 0 * u  # piecewise constant: slope 0


def _np_logsumexp(np: Any, *u: Any) -> Any:
    m = u[0].real.copy()
    for x in u[1:]:
        m = np.maximum(m, x.real)
    total = sum(np.exp(x - m) for x in u)
    return m + np.log(total)


# ---- sympy counterparts -------------------------------------------------------------------------


def _sp_logsumexp(sp: Any, *u: Any) -> Any:
    return sp.log(sp.Add(*[sp.exp(x) for x in u]))


@cache
def sympy_functions(sp: Any) -> dict[str, Any]:
    """sympy functions gradcli needs with derivatives sympy leaves unevaluated or writes with
    DiracDelta: piecewise-constant steps (slope 0 away from their jumps) and the real cube root.
    Each prints under gradcli's own name and carries its mpmath counterpart (``_mpmath``)."""

    def step_function(base: Any, name: str, mp_name: str) -> Any:
        def fdiff(self: Any, argindex: int = 1) -> Any:
            return sp.S.Zero

        def derivative(self: Any, x: Any) -> Any:  # sign's own would give 2*DiracDelta(u)
            return sp.S.Zero

        methods = {
            "fdiff": fdiff,
            "_eval_derivative": derivative,
            "_mpmath": staticmethod(_fn(mp_name)),
        }
        return type(name, (base,), methods)

    class real(sp.Function):  # a real-valued function of real arguments
        def _eval_is_extended_real(self) -> Any:
            return all(a.is_extended_real for a in self.args) or None

        _eval_is_real = _eval_is_extended_real

    class cbrt(real):  # prints as gradcli spells it
        _mpmath = staticmethod(lambda mp, u: mp.sign(u) * mp.cbrt(abs(u)))

        @classmethod
        def eval(cls, u: Any) -> Any:
            if u.is_Number:
                return sp.sign(u) * sp.Abs(u) ** sp.Rational(1, 3)
            return None

        def fdiff(self, argindex: int = 1) -> Any:
            return 1 / (3 * cbrt(self.args[0]) ** 2)

    # relu and clamp as functions of their own, not Piecewise: sympy folds a Piecewise's
    # constant branch (relu's 0) into what surrounds it, and 1/relu(x) then compares zoo > 0
    class step(real):  # d relu/du: 1 for u > 0, else 0 (PyTorch's value at 0)
        _mpmath = staticmethod(lambda mp, u: mp.mpf(1) if u > 0 else mp.mpf(0))

        @classmethod
        def eval(cls, u: Any) -> Any:
            return (sp.S.One if u > 0 else sp.S.Zero) if u.is_Number else None

        def fdiff(self, argindex: int = 1) -> Any:
            return sp.S.Zero

    class relu(real):
        _mpmath = staticmethod(lambda mp, u: u if u > 0 else mp.mpf(0))

        @classmethod
        def eval(cls, u: Any) -> Any:
            return (u if u > 0 else sp.S.Zero) if u.is_Number else None

        def fdiff(self, argindex: int = 1) -> Any:
            return step(self.args[0])

    class inside(real):  # d clamp/du: 1 for lo <= u <= hi (PyTorch's), else 0
        _mpmath = staticmethod(lambda mp, u, lo, hi: mp.mpf(1 if lo <= u <= hi else 0))

        @classmethod
        def eval(cls, u: Any, lo: Any, hi: Any) -> Any:
            if u.is_Number and lo.is_Number and hi.is_Number:
                return sp.S.One if lo <= u <= hi else sp.S.Zero
            return None

        def fdiff(self, argindex: int = 1) -> Any:
            return sp.S.Zero

    class clamp(real):
        _mpmath = staticmethod(lambda mp, u, lo, hi: min(max(u, lo), hi))

        @classmethod
        def eval(cls, u: Any, lo: Any, hi: Any) -> Any:
            if u.is_Number and lo.is_Number and hi.is_Number:
                return sp.Min(sp.Max(u, lo), hi)
            return None

        def fdiff(self, argindex: int = 1) -> Any:
            return inside(*self.args) if argindex == 1 else sp.S.Zero

    return {
        "floor": step_function(sp.floor, "floor", "floor"),
        "ceil": step_function(sp.ceiling, "ceil", "ceil"),
        "sign": step_function(sp.sign, "sign", "sign"),
        "cbrt": cbrt,
        "relu": relu,
        "clamp": clamp,
    }


def _sp_own(name: str) -> Fn:
    return lambda sp, *u: sympy_functions(sp)[name](*u)


def _piecewise(below: Fn, above: Fn) -> Fn:
    """``above(u)`` where u > 0, ``below(u)`` elsewhere (u = 0 included: PyTorch's side)."""
    return lambda sp, u, *p: sp.Piecewise((above(sp, u, *p), u > 0), (below(sp, u, *p), True))


# ---- mpmath counterparts ------------------------------------------------------------------------


def _mp_logsumexp(mp: Any, *u: Any) -> Any:
    m = max(u)
    return m + mp.log(mp.fsum(mp.exp(x - m) for x in u))


def _mp_softplus(mp: Any, u: Any) -> Any:
    return max(u, 0) + mp.log1p(mp.exp(-abs(u)))


# ---- Value-level derivatives (second order) -----------------------------------------------------
# Each returns the local derivatives as Values built from the inputs (so they can be
# differentiated again), or plain floats where the derivative is a constant.


def _v_tanh(out: Any, u: Any) -> tuple[Any]:
    s = (2 * u).sigmoid()
    return (4 * s * (-2 * u).sigmoid(),)  # sech(u)**2 = 4*sigmoid(2u)*sigmoid(-2u), never 1 - 1


def _v_gelu(out: Any, u: Any) -> tuple[Any]:
    return (0.5 * (-u / SQRT2).erfc() + u * INV_SQRT_2PI * (-0.5 * u * u).exp(),)


def _v_silu(out: Any, u: Any) -> tuple[Any]:
    s = u.sigmoid()
    return (s + u * s * (-u).sigmoid(),)


def _v_mish(out: Any, u: Any) -> tuple[Any]:
    sp = u.softplus()
    t = sp.tanh()
    return (t + u * _v_tanh(t, sp)[0] * u.sigmoid(),)


def _v_step(*values: float) -> Fn:
    return lambda out, *a: values


OPS: dict[str, Op] = {}


def _register(*ops: Op) -> None:
    for op in ops:
        OPS[op.name] = op


_ONE2 = (1.0, 1.0)  # add's local derivatives for two inputs: made once, not per node

# One entry per operation. Positional fields: name, arity, forward(*args), partials(out, *args),
# vpartials(out, *args) (as Values), rule per input, domain. Kept compact on purpose, so the
# table reads as a table.
# fmt: off
_register(
    # ---- arithmetic: what + - * / ** mean ----------------------------------------------------
    Op("add", -1, lambda *u: math.fsum(u) if len(u) > 2 else u[0] + u[1],
       lambda out, *u: _ONE2 if len(u) == 2 else (1.0,) * len(u),
       lambda out, *u: (1.0,) * len(u), ("1",), "all reals",
       sympy=lambda sp, *u: sp.Add(*u), mpmath=lambda mp, *u: mp.fsum(u),
       numpy=lambda np, *u: sum(u[1:], u[0]), torch=lambda t, *u: sum(u[1:], u[0]),
       symbol="+", prec=1, min_args=2, notes="n-ary: a + b + c is one node",
       details="A flat sum a + b + c is one node with n inputs (an exactly rounded sum).",
       samples=((1.5, -2.0), (0.3, 4.0, -7.25))),
    Op("sub", 2, lambda u, v: u - v, lambda out, u, v: (1.0, -1.0),
       lambda out, u, v: (1.0, -1.0), ("1", "-1"), "all reals",
       sympy=lambda sp, u, v: u - v, mpmath=lambda mp, u, v: u - v,
       numpy=lambda np, u, v: u - v, torch=lambda t, u, v: u - v, symbol="-", prec=1,
       samples=((1.5, -2.0), (-3.0, 0.25))),
    Op("mul", 2, lambda u, v: u * v, lambda out, u, v: (v, u), lambda out, u, v: (v, u),
       ("{v}", "{u}"), "all reals",
       sympy=lambda sp, u, v: u * v, mpmath=lambda mp, u, v: u * v,
       numpy=lambda np, u, v: u * v, torch=lambda t, u, v: u * v, symbol="*", prec=2,
       samples=((1.5, -2.0), (-3.0, 0.25))),
    Op("div", 2, lambda u, v: u / v, lambda out, u, v: (1.0 / v, -out / v),
       lambda out, u, v: (1.0 / v, -out / v), ("1/{v}", "-{u}/{v}**2"), "v != 0",
       sympy=lambda sp, u, v: u / v, mpmath=lambda mp, u, v: u / v,
       numpy=lambda np, u, v: u / v, torch=lambda t, u, v: u / v,
       check=_div_check, undefined="division by zero", symbol="/", prec=2,
       samples=((1.5, -2.0), (-3.0, 0.25))),
    Op("neg", 1, lambda u: -u, lambda out, u: (-1.0,), lambda out, u: (-1.0,), ("-1",),
       "all reals",
       sympy=lambda sp, u: -u, mpmath=lambda mp, u: -u,
       numpy=lambda np, u: -u, torch=lambda t, u: -u, symbol="-", prec=3,
       samples=((1.5,), (-0.3,))),
    Op("pow", 1, lambda u, n: u**n, _dpow,
       lambda out, u, n: (float(n) if n in (0, 1) else n * u ** (n - 1),),
       ("{n}*{u}**{n1}",), "u >= 0 unless n is an integer; u != 0 if n < 0",
       sympy=lambda sp, u, n: u**n, mpmath=lambda mp, u, n: mp.power(u, n),
       numpy=_np_pow, torch=lambda t, u, n: t.pow(u, n),
       check=_pow_check, undefined="power undefined", symbol="**", symbols=("^",), prec=4,
       right=True, params=("n",), notes="u**n with n constant (also u^n)",
       details="n is any constant expression (2, 0.5, 1/3, -2). The derivative is infinite at "
       "u = 0 for 0 < n < 1, which gradcli reports as an error.",
       hints=(("pow", "write u**n (or u^n)"), ("square", "write u**2"),
              ("exp2", "write 2**u"), ("sqr", "write u**2")),
       samples=((1.7, 2.0), (2.5, 0.5), (-1.3, 3.0), (0.8, -1.5), (-2.0, -2.0))),
    Op("powv", 2, lambda u, v: u**v, lambda out, u, v: (v * u ** (v - 1), out * math.log(u)),
       lambda out, u, v: (v * u ** (v - 1), out * u.log()),
       ("{v}*{u}**({v}-1)", "{u}**{v}*log({u})"), "u > 0",
       sympy=lambda sp, u, v: u**v, mpmath=lambda mp, u, v: mp.power(u, v),
       numpy=lambda np, u, v: np.exp(v * np.log(u)), torch=lambda t, u, v: t.pow(u, v),
       check=_powv_check, undefined="a power with a variable exponent needs a positive base",
       symbol="**", symbols=("^",), prec=4, right=True,
       notes="u**v, the exponent depends on a variable",
       samples=((1.7, 2.0), (0.4, -1.3), (3.0, 0.5))),
    # ---- functions of one argument -----------------------------------------------------------
    Op("exp", 1, math.exp, lambda out, u: (out,), lambda out, u: (out,), ("exp({u})",),
       "all reals (overflows past 709.78)", **_named("exp"), function=True,
       samples=((0.0,), (1.3,), (-4.0,))),
    Op("log", 1, math.log, lambda out, u: (1.0 / u,), lambda out, u: (1.0 / u,), ("1/{u}",),
       "u > 0", **_named("log"), undefined="log needs a positive argument", function=True,
       aliases=("ln",), notes="natural logarithm (also ln; log(u, b) for base b)",
       hints=(("logit", "write log(p/(1 - p))"),),
       samples=((0.2,), (1.0,), (7.5,))),
    Op("logb", 2, lambda u, b: math.log(u) / math.log(b),
       lambda out, u, b: (1.0 / (u * math.log(b)), -out / (b * math.log(b))),
       lambda out, u, b: (1.0 / (u * b.log()), -out / (b * b.log())),
       ("1/({u}*log({v}))", "-log({u})/({v}*log({v})**2)"), "u > 0, b > 0, b != 1",
       sympy=lambda sp, u, b: sp.log(u) / sp.log(b),
       mpmath=lambda mp, u, b: mp.log(u) / mp.log(b),
       numpy=lambda np, u, b: np.log(u) / np.log(b),
       torch=lambda t, u, b: t.log(u) / t.log(b),
       check=_logb_check, function=True, call="log",
       notes="log(u, b): the logarithm to base b, differentiable in b too",
       samples=((8.0, 2.0), (0.5, 10.0), (3.0, 0.25))),
    Op("log2", 1, math.log2, lambda out, u: (1.0 / (u * LN2),),
       lambda out, u: (1.0 / (u * LN2),), ("1/({u}*log(2))",), "u > 0",
       sympy=lambda sp, u: sp.log(u, 2), mpmath=lambda mp, u: mp.log(u, 2),
       numpy=_fn("log2"), torch=_fn("log2"),
       undefined="log2 needs a positive argument", function=True,
       notes="base-2 logarithm", samples=((0.2,), (1.0,), (7.5,))),
    Op("log10", 1, math.log10, lambda out, u: (1.0 / (u * LN10),),
       lambda out, u: (1.0 / (u * LN10),), ("1/({u}*log(10))",), "u > 0",
       sympy=lambda sp, u: sp.log(u, 10), mpmath=_fn("log10"),
       numpy=_fn("log10"), torch=_fn("log10"),
       undefined="log10 needs a positive argument", function=True,
       notes="base-10 logarithm", samples=((0.2,), (1.0,), (7.5,))),
    Op("log1p", 1, math.log1p, lambda out, u: (1.0 / (1.0 + u),),
       lambda out, u: (1.0 / (1.0 + u),), ("1/(1 + {u})",), "u > -1",
       sympy=lambda sp, u: sp.log(1 + u), mpmath=_fn("log1p"),
       numpy=_fn("log1p"), torch=_fn("log1p"),
       undefined="log1p needs an argument > -1", function=True,
       notes="log(1 + u), exact for tiny u (1e-10)", samples=((1e-10,), (-0.5,), (3.0,))),
    Op("expm1", 1, math.expm1, lambda out, u: (math.exp(u),), lambda out, u: (u.exp(),),
       ("exp({u})",), "all reals (overflows past 709.78)",
       sympy=lambda sp, u: sp.exp(u) - 1, mpmath=_fn("expm1"),
       numpy=_fn("expm1"), torch=_fn("expm1"), function=True,
       notes="exp(u) - 1, exact for tiny u (1e-8)", samples=((1e-8,), (-2.0,), (1.5,))),
    Op("sqrt", 1, math.sqrt, lambda out, u: (0.5 / out if out else math.inf,),
       lambda out, u: (0.5 / out,), ("1/(2*sqrt({u}))",), "u >= 0 (derivative infinite at 0)",
       **_named("sqrt"), undefined="sqrt needs an argument >= 0", function=True,
       samples=((0.2,), (4.0,))),
    Op("cbrt", 1, _cbrt, lambda out, u: (1.0 / (3.0 * out * out) if out else math.inf,),
       lambda out, u: (1.0 / (3.0 * out * out),), ("1/(3*cbrt({u})**2)",),
       "all reals (derivative infinite at 0)",
       sympy=_sp_own("cbrt"), mpmath=lambda mp, u: mp.sign(u) * mp.cbrt(abs(u)),
       numpy=_np_cbrt, torch=lambda t, u: t.sign(u) * t.abs(u).pow(1.0 / 3.0),
       function=True, notes="the real cube root: cbrt(-8) = -2",
       samples=((8.0,), (-2.5,), (0.3,))),
    Op("sin", 1, math.sin, lambda out, u: (math.cos(u),), lambda out, u: (u.cos(),),
       ("cos({u})",), "all reals", **_named("sin"), function=True,
       hints=(("csc", "write 1/sin(u)"),), samples=((0.0,), (1.3,), (-4.0,))),
    Op("cos", 1, math.cos, lambda out, u: (-math.sin(u),), lambda out, u: (-u.sin(),),
       ("-sin({u})",), "all reals", **_named("cos"), function=True,
       hints=(("sec", "write 1/cos(u)"),), samples=((0.0,), (1.3,), (-4.0,))),
    Op("tan", 1, math.tan, lambda out, u: (1.0 + out * out,), lambda out, u: (1.0 + out * out,),
       ("1 + tan({u})**2",), "u != pi/2 + k*pi", **_named("tan"), function=True,
       pole=_tan_pole, hints=(("cot", "write 1/tan(u)"),),
       samples=((0.0,), (1.3,), (-0.7,))),
    Op("tanh", 1, math.tanh, lambda out, u: (_sech2(u),), _v_tanh, ("1 - tanh({u})**2",),
       "all reals", **_named("tanh"), function=True,
       notes="derivative as sech(u)**2, exact where tanh saturates",
       details="1 - tanh(u)**2 is 0 once |tanh(u)| rounds to 1 (|u| > 19); sech(u)**2 is "
       "computed from exp(-2|u|) instead.",
       samples=((0.0,), (1.3,), (-4.0,))),
    Op("sigmoid", 1, _sigmoid, lambda out, u: (_sigmoid(u) * _sigmoid(-u),),
       lambda out, u: (out * (-u).sigmoid(),), ("sigmoid({u})*(1 - sigmoid({u}))",),
       "all reals",
       sympy=lambda sp, u: 1 / (1 + sp.exp(-u)), mpmath=lambda mp, u: 1 / (1 + mp.exp(-u)),
       numpy=_np_sigmoid, torch=_fn("sigmoid"), function=True,
       aliases=("logistic", "expit"),
       notes="1/(1 + exp(-u)), no overflow for large |u|",
       details="The derivative is computed as sigmoid(u)*sigmoid(-u): out*(1 - out) is 0 once "
       "out rounds to 1 (u > 37).",
       samples=((0.0,), (1.3,), (-4.0,))),
    Op("abs", 1, abs, lambda out, u: (1.0 if u > 0 else (-1.0 if u < 0 else 0.0),),
       lambda out, u: (1.0 if u.data > 0 else (-1.0 if u.data < 0 else 0.0),),
       ("sign({u})",), "all reals",
       sympy=_fn("Abs"), mpmath=lambda mp, u: abs(u), numpy=_np_abs, torch=_fn("abs"),
       analytic=False, function=True, kink=_at_zero, convention="abs'(0) = 0, as in PyTorch",
       aliases=("fabs", "absolute", "Abs"),
       notes="kink at 0: abs'(0) = 0, as in PyTorch", samples=((1.3,), (-4.0,), (0.0,))),
    Op("asin", 1, math.asin, lambda out, u: (_inv_sqrt_1m(u),),
       lambda out, u: (((1 - u) * (1 + u)) ** -0.5,), ("1/sqrt(1 - {u}**2)",),
       "-1 <= u <= 1 (derivative infinite at the ends)",
       **_named("asin", numpy="arcsin"), undefined="asin needs an argument in [-1, 1]",
       function=True, aliases=("arcsin",), samples=((0.0,), (0.5,), (-0.9,))),
    Op("acos", 1, math.acos, lambda out, u: (-_inv_sqrt_1m(u),),
       lambda out, u: (-(((1 - u) * (1 + u)) ** -0.5),), ("-1/sqrt(1 - {u}**2)",),
       "-1 <= u <= 1 (derivative infinite at the ends)",
       **_named("acos", numpy="arccos"), undefined="acos needs an argument in [-1, 1]",
       function=True, aliases=("arccos",), samples=((0.0,), (0.5,), (-0.9,))),
    Op("atan", 1, math.atan, lambda out, u: (1.0 / (1.0 + u * u),),
       lambda out, u: (1.0 / (1.0 + u * u),), ("1/(1 + {u}**2)",),
       "all reals", **_named("atan", numpy="arctan"), function=True, aliases=("arctan",),
       samples=((0.0,), (1.3,), (-4.0,))),
    Op("sinh", 1, math.sinh, lambda out, u: (math.cosh(u),), lambda out, u: (u.cosh(),),
       ("cosh({u})",), "all reals (overflows past |u| = 710.47)", **_named("sinh"),
       function=True, samples=((0.0,), (1.3,), (-4.0,))),
    Op("cosh", 1, math.cosh, lambda out, u: (math.sinh(u),), lambda out, u: (u.sinh(),),
       ("sinh({u})",), "all reals (overflows past |u| = 710.47)", **_named("cosh"),
       function=True, samples=((0.0,), (1.3,), (-4.0,))),
    Op("asinh", 1, math.asinh, lambda out, u: (1.0 / math.hypot(u, 1.0),),
       lambda out, u: ((u * u + 1) ** -0.5,), ("1/sqrt({u}**2 + 1)",), "all reals",
       **_named("asinh", numpy="arcsinh"), function=True, aliases=("arcsinh",),
       samples=((0.0,), (1.3,), (-40.0,))),
    Op("acosh", 1, math.acosh, lambda out, u: (1.0 / math.sqrt((u - 1.0) * (u + 1.0))
                                               if u > 1 else math.inf,),
       lambda out, u: (((u - 1) * (u + 1)) ** -0.5,), ("1/sqrt({u}**2 - 1)",),
       "u >= 1 (derivative infinite at 1)",
       **_named("acosh", numpy="arccosh"), undefined="acosh needs an argument >= 1",
       function=True, aliases=("arccosh",), samples=((1.5,), (10.0,))),
    Op("atanh", 1, math.atanh, lambda out, u: (1.0 / ((1.0 - u) * (1.0 + u)),),
       lambda out, u: (1.0 / ((1 - u) * (1 + u)),), ("1/(1 - {u}**2)",), "-1 < u < 1",
       **_named("atanh", numpy="arctanh"), undefined="atanh needs an argument in (-1, 1)",
       function=True, aliases=("arctanh",), samples=((0.0,), (0.5,), (-0.9,))),
    Op("erf", 1, math.erf, lambda out, u: (2.0 / math.sqrt(math.pi) * math.exp(-u * u),),
       lambda out, u: (2.0 / math.sqrt(math.pi) * (-u * u).exp(),),
       ("2/sqrt(pi)*exp(-{u}**2)",), "all reals",
       sympy=_fn("erf"), mpmath=_fn("erf"), numpy=_np_erf, torch=_fn("erf"), function=True,
       notes="the error function", samples=((0.0,), (0.7,), (-2.5,))),
    Op("erfc", 1, math.erfc, lambda out, u: (-2.0 / math.sqrt(math.pi) * math.exp(-u * u),),
       lambda out, u: (-2.0 / math.sqrt(math.pi) * (-u * u).exp(),),
       ("-2/sqrt(pi)*exp(-{u}**2)",), "all reals",
       sympy=_fn("erfc"), mpmath=_fn("erfc"), numpy=_np_erfc, torch=_fn("erfc"), function=True,
       notes="1 - erf(u), exact in the upper tail", samples=((0.0,), (0.7,), (5.0,))),
    # ---- activations ---------------------------------------------------------------------------
    Op("relu", 1, lambda u: u if u > 0 else 0.0, lambda out, u: (1.0 if u > 0 else 0.0,),
       lambda out, u: (1.0 if u.data > 0 else 0.0,), ("1 if {u} > 0 else 0",), "all reals",
       sympy=_sp_own("relu"), mpmath=lambda mp, u: u if u > 0 else mp.mpf(0),
       numpy=_np_relu, torch=_fn("relu"), aliases=("ReLU",),
       analytic=False, function=True, kink=_at_zero, convention="relu'(0) = 0, as in PyTorch",
       notes="kink at 0: relu'(0) = 0, as in PyTorch", samples=((1.3,), (-4.0,), (0.0,))),
    Op("leaky_relu", 1, lambda u, slope: u if u > 0 else slope * u,
       lambda out, u, slope: (1.0 if u > 0 else slope,),
       lambda out, u, slope: (1.0 if u.data > 0 else slope,),
       ("1 if {u} > 0 else {slope}",), "all reals",
       sympy=_piecewise(lambda sp, u, s: s * u, lambda sp, u, s: u),
       mpmath=lambda mp, u, slope: u if u > 0 else slope * u,
       numpy=_np_leaky, torch=lambda t, u, slope: t.nn.functional.leaky_relu(u, slope),
       params=("slope",), defaults=(0.01,), analytic=False, function=True, kink=_at_zero,
       convention="the slope at 0 is the negative side's, as in PyTorch",
       notes="u if u > 0 else slope*u (slope 0.01 by default)",
       samples=((1.3, 0.01), (-4.0, 0.01), (-2.0, 0.2), (0.0, 0.01))),
    Op("elu", 1, _elu, lambda out, u: (1.0 if u > 0 else math.exp(u),),
       lambda out, u: (1.0 if u.data >= 0 else u.exp(),), ("1 if {u} > 0 else exp({u})",),
       "all reals",
       sympy=_piecewise(lambda sp, u: sp.exp(u) - 1, lambda sp, u: u),
       mpmath=lambda mp, u: u if u > 0 else mp.expm1(u),
       numpy=_np_elu, torch=lambda t, u: t.nn.functional.elu(u), analytic=False,
       function=True, kink2=_at_zero,
       convention2="elu''(0) = 0 (the positive side's), as in PyTorch",
       notes="u if u > 0 else exp(u) - 1 (alpha = 1); elu'' jumps at 0",
       samples=((1.3,), (-4.0,), (0.0,))),
    Op("selu", 1, _selu,
       lambda out, u: (SELU_SCALE if u > 0 else SELU_SCALE * SELU_ALPHA * math.exp(u),),
       lambda out, u: (
           SELU_SCALE if u.data > 0
           else SELU_SCALE * SELU_ALPHA if u.data == 0  # a constant: selu''(0) = 0, as torch
           else SELU_SCALE * SELU_ALPHA * u.exp(),),
       ("scale if {u} > 0 else scale*alpha*exp({u})",), "all reals",
       sympy=_piecewise(lambda sp, u: sp.Float(SELU_SCALE * SELU_ALPHA) * (sp.exp(u) - 1),
                        lambda sp, u: sp.Float(SELU_SCALE) * u),
       mpmath=lambda mp, u: SELU_SCALE * (u if u > 0 else SELU_ALPHA * mp.expm1(u)),
       numpy=_np_selu, torch=lambda t, u: t.nn.functional.selu(u), analytic=False,
       function=True, kink=_at_zero,
       convention="selu'(0) = scale*alpha (the negative side's), as in PyTorch",
       convention2="selu''(0) = 0, as in PyTorch",
       notes="scale*(u if u > 0 else alpha*(exp(u) - 1)); kink at 0",
       details=f"scale = {SELU_SCALE!r}, alpha = {SELU_ALPHA!r}, PyTorch's constants.",
       samples=((1.3,), (-4.0,), (0.0,))),
    Op("softplus", 1, _softplus, lambda out, u: (_sigmoid(u),), lambda out, u: (u.sigmoid(),),
       ("sigmoid({u})",), "all reals",
       sympy=lambda sp, u: sp.log(1 + sp.exp(u)), mpmath=_mp_softplus,
       numpy=_np_softplus, torch=lambda t, u: t.nn.functional.softplus(u),
       torch_gap=_softplus_gap, function=True,
       notes="log(1 + exp(u)), exact at -30; torch goes linear past 20",
       details="Computed as max(u, 0) + log1p(exp(-|u|)): 9.4e-14 at u = -30, no overflow at "
       "u = 1000. PyTorch's softplus (beta 1, threshold 20) returns u itself for u > 20, which "
       "differs from log(1 + e^u) by log1p(e^-u) < 2.1e-9 there; verify-torch knows.",
       samples=((0.0,), (1.3,), (-30.0,), (25.0,))),
    Op("gelu", 1, _gelu, _dgelu, _v_gelu, ("Phi({u}) + {u}*phi({u})",), "all reals",
       sympy=lambda sp, u: u * (1 + sp.erf(u / sp.sqrt(2))) / 2,
       mpmath=lambda mp, u: u * mp.erfc(-u / mp.sqrt(2)) / 2,
       numpy=_np_gelu, torch=lambda t, u: t.nn.functional.gelu(u), function=True,
       notes="u*Phi(u), the exact erf form",
       details="Phi is the standard normal CDF and phi its density. This is PyTorch's default "
       "(approximate='none'); torch's approximate='tanh' is a different function.",
       samples=((0.0,), (1.3,), (-4.0,))),
    Op("silu", 1, lambda u: u * _sigmoid(u), _dsilu, _v_silu,
       ("sigmoid({u})*(1 + {u}*(1 - sigmoid({u})))",), "all reals",
       sympy=lambda sp, u: u / (1 + sp.exp(-u)), mpmath=lambda mp, u: u / (1 + mp.exp(-u)),
       numpy=_np_silu, torch=lambda t, u: t.nn.functional.silu(u), function=True,
       aliases=("swish", "SiLU"), notes="u*sigmoid(u) (also swish)",
       samples=((0.0,), (1.3,), (-4.0,))),
    Op("mish", 1, _mish, _dmish, _v_mish,
       ("tanh(softplus({u})) + {u}*sech(softplus({u}))**2*sigmoid({u})",), "all reals",
       sympy=lambda sp, u: u * sp.tanh(sp.log(1 + sp.exp(u))),
       mpmath=lambda mp, u: u * mp.tanh(_mp_softplus(mp, u)),
       numpy=_np_mish, torch=lambda t, u: t.nn.functional.mish(u), function=True,
       notes="u*tanh(softplus(u))", samples=((0.0,), (1.3,), (-4.0,))),
    Op("softsign", 1, lambda u: u / (1.0 + abs(u)), lambda out, u: (1.0 / (1.0 + abs(u)) ** 2,),
       lambda out, u: ((1 + abs(u)) ** -2,), ("1/(1 + |{u}|)**2",), "all reals",
       sympy=lambda sp, u: u / (1 + sp.Abs(u)), mpmath=lambda mp, u: u / (1 + abs(u)),
       numpy=lambda np, u: u / (1 + _np_abs(np, u)),
       torch=lambda t, u: t.nn.functional.softsign(u), analytic=False, function=True,
       notes="u/(1 + |u|)", samples=((0.0,), (1.3,), (-4.0,))),
    # ---- piecewise constant: slope 0 away from the jumps -------------------------------------
    Op("sign", 1, lambda u: float((u > 0) - (u < 0)), lambda out, u: (0.0,), _v_step(0.0),
       ("0",), "all reals (jumps at 0)",
       sympy=_sp_own("sign"), mpmath=_fn("sign"), numpy=_np_step("sign"), torch=_fn("sign"),
       analytic=False, function=True, kink=_jump_at_zero, convention="sign'(0) = 0, as in PyTorch",
       aliases=("sgn", "signum"), hints=(("heaviside", "write (sign(u) + 1)/2"),
                                         ("step", "write (sign(u) + 1)/2")),
       notes="-1, 0 or 1; slope 0 (PyTorch's, also at the jump)",
       samples=((1.3,), (-4.0,), (0.0,))),
    Op("floor", 1, lambda u: float(math.floor(u)), lambda out, u: (0.0,), _v_step(0.0), ("0",),
       "all reals (jumps at integers)",
       sympy=_sp_own("floor"), mpmath=_fn("floor"), numpy=_np_step("floor"),
       torch=_fn("floor"), analytic=False, function=True, kink=_jump_at_integer,
       convention="slope 0 at the jump too, as in PyTorch",
       notes="largest integer <= u; slope 0", samples=((1.3,), (-4.5,), (2.0,))),
    Op("ceil", 1, lambda u: float(math.ceil(u)), lambda out, u: (0.0,), _v_step(0.0), ("0",),
       "all reals (jumps at integers)",
       sympy=_sp_own("ceil"), mpmath=_fn("ceil"), numpy=_np_step("ceil"), torch=_fn("ceil"),
       analytic=False, function=True, kink=_jump_at_integer, aliases=("ceiling",),
       convention="slope 0 at the jump too, as in PyTorch",
       notes="smallest integer >= u; slope 0", samples=((1.3,), (-4.5,), (2.0,))),
    # ---- functions of several arguments ------------------------------------------------------
    Op("atan2", 2, math.atan2, _atan2_partials,
       lambda out, y, x: (x / (x * x + y * y), -y / (x * x + y * y)),
       ("{v}/({u}**2 + {v}**2)", "-{u}/({u}**2 + {v}**2)"), "(y, x) != (0, 0)",
       sympy=_fn("atan2"), mpmath=_fn("atan2"), numpy=_np_atan2, torch=_fn("atan2"),
       check=_origin_check("atan2"), function=True, kink=_atan2_cut,
       convention="the slope of the side y >= 0, as in PyTorch", aliases=("arctan2",),
       notes="atan2(y, x): the angle of the point (x, y)", analytic=False,
       samples=((1.0, 2.0), (-0.5, -3.0), (2.0, -1.0), (0.0, -1.0))),
    Op("hypot", 2, math.hypot, lambda out, x, y: (x / out, y / out),
       lambda out, x, y: (x / out, y / out), ("{u}/hypot({u}, {v})", "{v}/hypot({u}, {v})"),
       "(x, y) != (0, 0) for the derivative",
       sympy=lambda sp, x, y: sp.sqrt(x**2 + y**2), mpmath=_fn("hypot"), numpy=_np_hypot,
       torch=_fn("hypot"), check=_origin_check("hypot"), function=True,
       notes="sqrt(x**2 + y**2), without overflow", samples=((3.0, 4.0), (-1.5, 0.8))),
    Op("max", -1, max, lambda out, *u: _ties(u, out),
       lambda out, *u: _ties(tuple(x.data for x in u), out.data),
       ("1 if {ui} is the largest, else 0",), "all reals",
       sympy=_fn("Max"), mpmath=lambda mp, *u: max(u), numpy=_np_extreme(True),
       torch=lambda t, *u: t.max(t.stack(u)), analytic=False, function=True, min_args=2,
       kink=_tie, convention="a k-way tie gives each 1/k, as in PyTorch",
       aliases=("maximum", "amax"), notes="the largest argument; ties split the slope",
       samples=((1.0, 3.0), (2.0, -1.0, 0.5), (2.0, 2.0))),
    Op("min", -1, min, lambda out, *u: _ties(u, out),
       lambda out, *u: _ties(tuple(x.data for x in u), out.data),
       ("1 if {ui} is the smallest, else 0",), "all reals",
       sympy=_fn("Min"), mpmath=lambda mp, *u: min(u), numpy=_np_extreme(False),
       torch=lambda t, *u: t.min(t.stack(u)), analytic=False, function=True, min_args=2,
       kink=_tie_min, convention="a k-way tie gives each 1/k, as in PyTorch",
       aliases=("minimum", "amin"), notes="the smallest argument; ties split the slope",
       samples=((1.0, 3.0), (2.0, -1.0, 0.5), (2.0, 2.0))),
    Op("clamp", 1, lambda u, lo, hi: min(max(u, lo), hi),
       lambda out, u, lo, hi: (1.0 if lo <= u <= hi else 0.0,),
       lambda out, u, lo, hi: (1.0 if lo <= u.data <= hi else 0.0,),
       ("1 if {lo} <= {u} <= {hi} else 0",), "lo <= hi",
       sympy=_sp_own("clamp"), mpmath=lambda mp, u, lo, hi: min(max(u, lo), hi), numpy=_np_clamp,
       torch=lambda t, u, lo, hi: t.clamp(u, lo, hi), check=_clamp_check,
       params_check=_clamp_bounds,
       params=("lo", "hi"), analytic=False, function=True, kink=_clamp_kink,
       convention="slope 1 at u = lo and u = hi, as in PyTorch", aliases=("clip",),
       notes="u limited to [lo, hi] (constants)",
       samples=((0.5, 0.0, 1.0), (-2.0, -1.0, 1.0), (3.0, 0.0, 1.0), (1.0, 0.0, 1.0))),
    Op("logsumexp", -1, _logsumexp, lambda out, *u: _softmax(*u),
       lambda out, *u: tuple((x - out).exp() for x in u),
       ("exp({ui} - logsumexp({args}))",), "all reals",
       sympy=_sp_logsumexp, mpmath=_mp_logsumexp, numpy=_np_logsumexp,
       torch=lambda t, *u: t.logsumexp(t.stack(u), dim=0), function=True, min_args=1,
       notes="log(exp(u_1) + ... + exp(u_n)), never overflows",
       details="Shifted by the maximum so it never overflows; its local derivatives are the "
       "softmax. logsumexp(a, b, c) - c is the negative log-likelihood of class c.",
       hints=(("softmax", "softmax is a vector; for the loss of class c write "
                          "logsumexp(a, b, c) - c, or run gradcli softmax"),),
       samples=((0.0, 3.0, -2.0, 1.0), (1000.0, 1001.0, 1002.0), (-5.0,))),
)
# fmt: on

#: names callable in expressions, each with the ops it can mean (log(u) and log(u, b))
FUNCTIONS: dict[str, list[Op]] = {}
for _op in OPS.values():
    if _op.function:
        for _spelling in (_op.spelling, *_op.aliases):
            FUNCTIONS.setdefault(_spelling, []).append(_op)

#: names people type that gradcli does not know, with what to write instead
HINTS: dict[str, str] = {name: hint for op in OPS.values() for name, hint in op.hints}

#: named constants in expressions
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

#: infix operators the parser reads: symbol -> (binding strength, right-associative)
INFIX: dict[str, tuple[int, bool]] = {
    s: (op.prec, op.right)
    for op in OPS.values()
    if op.symbol and (op.arity != 1 or op.params)
    for s in (op.symbol, *op.symbols)
}
#: prefix operators: symbol -> op
PREFIX: dict[str, Op] = {
    op.symbol: op for op in OPS.values() if op.symbol and op.arity == 1 and not op.params
}


def resolve_call(name: str, nargs: int) -> Op | None:
    """The op an expression means by ``name(...)`` with ``nargs`` arguments (None if none)."""
    for op in FUNCTIONS.get(name, ()):
        if op.least_args <= nargs and (op.call_arity < 0 or nargs <= op.call_arity):
            return op
    return None


def infix_op(symbol: str, constant_right: bool) -> Op:
    """The op of an infix symbol: ``**`` is ``pow`` (constant exponent) or ``powv``."""
    if symbol in ("**", "^"):
        return OPS["pow" if constant_right else "powv"]
    return next(op for op in OPS.values() if op.symbol == symbol and op.name != "neg")


def lookup(name: str) -> Op | None:
    """The op called ``name``: its table name, what expressions call it, an alias, a symbol."""
    if name in OPS:
        return OPS[name]
    if name in FUNCTIONS:
        return FUNCTIONS[name][0]
    return next((op for op in OPS.values() if op.symbol and name in (op.symbol, *op.symbols)), None)


def at_kink(op: Op, args: tuple[float, ...]) -> str | None:
    """Where ``op`` is not differentiable, in words, when ``args`` sit there."""
    return op.kink(*args) if op.kink is not None else None
