"""The little programs a learner's code is run on, written once for every side.

Each program is plain Python over operators and methods (``a * b``, ``a.exp()``), so the same
function runs in the child process on the learner's ``Value``, in gradcli on its own
:class:`~gradcli.engine.Value` (the expected values) and on float64 torch tensors (the PyTorch
reference). Nothing here imports anything heavy: the child imports this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Fn = Callable[..., Any]

#: what a learner's class may offer, and the attribute that offers it
FEATURES: dict[str, str] = {
    "add": "__add__",
    "radd": "__radd__",
    "sub": "__sub__",
    "rsub": "__rsub__",
    "mul": "__mul__",
    "rmul": "__rmul__",
    "div": "__truediv__",
    "rtruediv": "__rtruediv__",
    "neg": "__neg__",
    "pow": "__pow__",
    "rpow": "__rpow__",
    "backward": "backward",
}

#: the learner's method each form of an op enters through (``1.5 + a`` is ``__radd__``), and for
#: a reflected one the rewrite that is right (one table for every message about them)
REFLECTED: dict[str, tuple[str, str, str]] = {
    # method: (op, what Python calls it for, a right way to write it)
    "__radd__": ("add", "1.5 + a and sum([...])", "return self + other"),
    "__rsub__": ("sub", "1.5 - a", "return Value(other) - self  (or other + (-self))"),
    "__rmul__": ("mul", "2.0 * a", "return self * other"),
    "__rtruediv__": ("div", "1.0 / a", "return Value(other) / self  (or other * self**-1)"),
    "__rpow__": ("powv", "2.0 ** a", "return Value(other) ** self  (d/da: out * log(other))"),
}

#: the operator symbol of each reflected method, as Python's error messages write it
REFLECTED_SYMBOL = {
    "__radd__": "+",
    "__rsub__": "-",
    "__rmul__": "*",
    "__rtruediv__": "/",
    "__rpow__": "**",
}


def reflected_hint(method: str, class_name: str = "Value") -> str:
    """Why a reflected method is needed, and a right way to write it (the one table above)."""
    _op, what, rewrite = REFLECTED[method]
    rewrite = rewrite.replace("Value(", f"{class_name}(")
    sum_note = "; sum() starts from 0" if method == "__radd__" else ""
    return (
        f"{what} need{'' if ' and ' in what else 's'} {method} (Python calls it when the number "
        f"is on the left{sum_note}): def {method}(self, other): {rewrite}"
    )


#: the learner's method for each op, when the Value is on the left
DUNDER = {
    "add": "__add__",
    "sub": "__sub__",
    "mul": "__mul__",
    "div": "__truediv__",
    "neg": "__neg__",
    "pow": "__pow__",
    "powv": "__pow__",
}

#: functions gradcli knows as methods of a Value, by the op table's name (the method's name)
UNARY_METHODS = (
    "exp",
    "log",
    "tanh",
    "relu",
    "sigmoid",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
)

#: the operations of the lecture and of micrograd: the ones listed as skipped when absent
CORE_OPS = ("add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "relu", "sigmoid")


#: the learner's methods, by the op they compute
_OP_OF = {v: k for k, v in DUNDER.items() if k != "powv"} | {k: v[0] for k, v in REFLECTED.items()}


def op_of_method(method: str | None) -> str | None:
    """``__rmul__`` -> ``mul``; ``exp`` -> ``exp``; ``backward`` -> None."""
    if not method:
        return None
    if method in _OP_OF:
        return _OP_OF[method]
    from gradcli.ops import OPS

    return method if method in OPS else None


def blame_label(op: str | None, method: str | None) -> str:
    """What a root cause is called: ``add``, ``add (__radd__)``, ``backward``, ``__init__``."""
    if op is None:
        return method or "your code"
    op = "pow" if op == "powv" else op  # a ** b and a ** 2 are both the learner's __pow__
    if not method or method in (op, DUNDER.get(op)):
        return op
    return f"{op} ({method})"


@dataclass(frozen=True)
class Program:
    """One program: ``fn(*leaves) -> output``, run at each of ``points``.

    ``op`` is the op-table name the program tests (None for structure and composites);
    ``form`` says how the leaves enter that op: ``"vv"`` (a op b), ``"vc"`` (a op const),
    ``"cv"`` (const op a: the reflected operator), ``"u"`` (a unary method or a power with a
    constant exponent), ``"sum"`` (``sum([a, b])``). ``uses`` lists every op it calls (what a
    hang in its forward pass is blamed on); ``needs`` the class features it requires.
    """

    key: str
    name: str
    fn: Fn
    leaves: tuple[str, ...]
    points: tuple[tuple[float, ...], ...]
    needs: tuple[str, ...]
    uses: tuple[str, ...]
    op: str | None = None
    form: str = ""
    const: float | None = None  # the constant of a "vc"/"cv" form, the exponent of a power
    optional: bool = False  # a missing feature is a note, not a failure (__rsub__, ...)
    kind: str = "op"  # "op", "structure" or "composite"
    notes: tuple[str, ...] = field(default=())

    @property
    def method(self) -> str:
        """The learner's method this program enters through: ``__radd__`` for ``1.5 + a``."""
        if self.op is None:
            return ""
        if self.form in ("cv", "sum"):
            reflected = {v[0]: k for k, v in REFLECTED.items()}
            return reflected.get(self.op, DUNDER.get(self.op, self.op))
        return DUNDER.get(self.op, self.op)


_BIN = ((2.0, -3.0), (-1.5, 0.5), (0.75, 4.0))
_ONE = ((2.0,), (-1.5,), (0.75,))
_POS = ((2.0,), (0.75,), (3.5,))
_UNARY_TRY = (0.5, -1.5, 2.0, 0.3, 3.0, 0.8, -0.4)


def unary_points(op_name: str) -> tuple[tuple[float, ...], ...]:
    """Three points inside the op's domain, away from kinks (negative numbers where allowed)."""
    from gradcli.ops import OPS

    op = OPS[op_name]
    out: list[tuple[float, ...]] = []
    for x in _UNARY_TRY:
        if op.check is not None and op.check(x) is not None:
            continue
        try:
            op.forward(x)
        except (ValueError, OverflowError, ZeroDivisionError):
            continue
        if abs(x) >= 1 and op_name in ("asin", "acos"):
            continue
        out.append((x,))
        if len(out) == 3:
            break
    return tuple(out)


def _op_programs() -> list[Program]:
    P = Program
    progs = [
        P("add", "a + b", lambda a, b: a + b, ("a", "b"), _BIN, ("add",), ("add",), "add", "vv"),
        P(
            "add_c",
            "a + 1.5",
            lambda a: a + 1.5,
            ("a",),
            _ONE,
            ("add",),
            ("add",),
            "add",
            "vc",
            1.5,
        ),
        P(
            "radd",
            "1.5 + a",
            lambda a: 1.5 + a,
            ("a",),
            _ONE,
            ("add", "radd"),
            ("add",),
            "add",
            "cv",
            1.5,
        ),
        P(
            "sum",
            "sum([a, b])",
            lambda a, b: sum([a, b]),
            ("a", "b"),
            _BIN,
            ("add", "radd"),
            ("add",),
            "add",
            "sum",
        ),
        P("mul", "a * b", lambda a, b: a * b, ("a", "b"), _BIN, ("mul",), ("mul",), "mul", "vv"),
        P(
            "mul_c",
            "a * 2.0",
            lambda a: a * 2.0,
            ("a",),
            _ONE,
            ("mul",),
            ("mul",),
            "mul",
            "vc",
            2.0,
        ),
        P(
            "rmul",
            "2.0 * a",
            lambda a: 2.0 * a,
            ("a",),
            _ONE,
            ("mul", "rmul"),
            ("mul",),
            "mul",
            "cv",
            2.0,
        ),
        P("sub", "a - b", lambda a, b: a - b, ("a", "b"), _BIN, ("sub",), ("sub",), "sub", "vv"),
        P(
            "sub_c",
            "a - 1.5",
            lambda a: a - 1.5,
            ("a",),
            _ONE,
            ("sub",),
            ("sub",),
            "sub",
            "vc",
            1.5,
        ),
        P(
            "rsub",
            "1.5 - a",
            lambda a: 1.5 - a,
            ("a",),
            _ONE,
            ("sub", "rsub"),
            ("sub",),
            "sub",
            "cv",
            1.5,
            optional=True,
        ),
        P("div", "a / b", lambda a, b: a / b, ("a", "b"), _BIN, ("div",), ("div",), "div", "vv"),
        P(
            "div_c",
            "a / 2.0",
            lambda a: a / 2.0,
            ("a",),
            _ONE,
            ("div",),
            ("div",),
            "div",
            "vc",
            2.0,
        ),
        P(
            "rtruediv",
            "1.0 / a",
            lambda a: 1.0 / a,
            ("a",),
            _ONE,
            ("div", "rtruediv"),
            ("div",),
            "div",
            "cv",
            1.0,
            optional=True,
        ),
        P("neg", "-a", lambda a: -a, ("a",), _ONE, ("neg",), ("neg",), "neg", "u"),
        P("pow2", "a ** 2", lambda a: a**2, ("a",), _ONE, ("pow",), ("pow",), "pow", "u", 2.0),
        P("pow3", "a ** 3", lambda a: a**3, ("a",), _ONE, ("pow",), ("pow",), "pow", "u", 3.0),
        P("powm2", "a ** -2", lambda a: a**-2, ("a",), _ONE, ("pow",), ("pow",), "pow", "u", -2.0),
        P("powh", "a ** 0.5", lambda a: a**0.5, ("a",), _POS, ("pow",), ("pow",), "pow", "u", 0.5),
        P(
            "powv",
            "a ** b",
            lambda a, b: a**b,
            ("a", "b"),
            ((2.0, 3.0), (1.5, -0.5), (0.75, 2.5)),
            ("pow",),
            ("pow",),
            "powv",
            "vv",
            optional=True,
        ),
        P(
            "rpow",
            "2.0 ** a",
            lambda a: 2.0**a,
            ("a",),
            _ONE,
            ("rpow",),
            ("powv",),
            "powv",
            "cv",
            2.0,
            optional=True,
        ),
    ]
    for name in UNARY_METHODS:
        progs.append(
            P(
                name,
                f"a.{name}()",
                _method(name),
                ("a",),
                unary_points(name),
                (name,),
                (name,),
                name,
                "u",
            )
        )
    return progs


def _method(name: str) -> Fn:
    def call(a: Any) -> Any:
        return getattr(a, name)()

    return call


# ---- structure: how backward() walks the graph ---------------------------------------------------


def _diamond(a: Any, b: Any) -> Any:
    c = a * b  # reached twice: directly, and through d
    d = c + b
    return d * c


def _chain(a: Any, b: Any) -> Any:
    x = a
    for _ in range(25):
        x = x * b + a
    return x


DEEP = 3000  # past Python's default recursion limit of 1000


def _deep(a: Any, b: Any) -> Any:
    x = a
    for _ in range(DEEP):
        x = x + b
    return x


def _twice_used(a: Any, b: Any) -> Any:
    return a * b + a


def _reuse(op: str) -> Fn:
    def run(a: Any, b: Any, c: Any) -> Any:
        f = _BINARY[op]
        return f(a, b) + f(a, c)

    return run


_BINARY: dict[str, Fn] = {
    "add": lambda u, v: u + v,
    "mul": lambda u, v: u * v,
    "sub": lambda u, v: u - v,
    "div": lambda u, v: u / v,
}

_SYMBOL = {"add": "+", "mul": "*", "sub": "-", "div": "/"}


def _repeat(a: Any, b: Any) -> Any:
    return (a * b + a) * b


def _neuron(x1: Any, w1: Any, x2: Any, w2: Any, b: Any) -> Any:
    return (x1 * w1 + x2 * w2 + b).tanh()


def _power_mix(a: Any, b: Any, c: Any) -> Any:
    return -(a**3) + b**2.5 - c**-1 - a**0.5


def exercise_f(a: Any, b: Any, c: Any) -> Any:
    """The exercise's f(a, b, c) = -a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5, on Values."""
    return -(a**3) + (3 * b).sin() - 1.0 / c + b**2.5 - a**0.5


def _softmax_like(a: Any, b: Any) -> Any:
    ea = a.exp()
    return -(ea / (ea + b.exp())).log()


def _sigmoid_neuron(a: Any, b: Any, c: Any) -> Any:
    return (a * b + c).sigmoid()


def _relu_unit(a: Any, b: Any, c: Any) -> Any:
    return (a * b + c).relu() * a


_NEURON_POINT = ((2.0, -3.0, 0.0, 1.0, 6.881373587019543),)

STRUCTURE = [
    Program(
        "twice_add",
        "a + a",
        lambda a: a + a,
        ("a",),
        ((2.0,), (-1.5,)),
        ("add",),
        ("add",),
        kind="structure",
    ),
    Program(
        "twice_mul",
        "a * a",
        lambda a: a * a,
        ("a",),
        ((2.0,), (-1.5,)),
        ("mul",),
        ("mul",),
        kind="structure",
    ),
    Program(
        "twice_used",
        "a * b + a",
        _twice_used,
        ("a", "b"),
        ((2.0, -3.0),),
        ("add", "mul"),
        ("add", "mul"),
        kind="structure",
    ),
    Program(
        "diamond",
        "c = a * b; (c + b) * c",
        _diamond,
        ("a", "b"),
        ((2.0, -3.0), (0.5, 1.5)),
        ("add", "mul"),
        ("add", "mul"),
        kind="structure",
    ),
    Program(
        "chain",
        "x = a; 25 times: x = x * b + a",
        _chain,
        ("a", "b"),
        ((0.3, 0.9),),
        ("add", "mul"),
        ("add", "mul"),
        kind="structure",
    ),
]

# one input in two nodes of the same op: a rule hung on the input (self._backward = ...) instead
# of on the result loses one of them
STRUCTURE += [
    Program(
        f"reuse_{op}",
        f"a {_SYMBOL[op]} b + a {_SYMBOL[op]} c",
        _reuse(op),
        ("a", "b", "c"),
        ((2.0, -3.0, 0.5),),
        (op, "add"),
        (op, "add"),
        kind="structure",
    )
    for op in ("add", "mul", "sub", "div")
]

# two inner nodes with the same value: a class whose __eq__/__hash__ compare by value keeps only
# one of them in a set of children, and the other's gradient is lost
STRUCTURE.append(
    Program(
        "equal_values",
        "a * a + b * b with a = b (two nodes, one value)",
        lambda a, b: a * a + b * b,
        ("a", "b"),
        ((1.5, 1.5),),
        ("add", "mul"),
        ("add", "mul"),
        kind="structure",
    )
)

#: backward() on a chain deeper than the recursion limit (a note when it fails that way)
DEEP_CHAIN = Program(
    "deep",
    f"x = a; {DEEP} times: x = x + b",
    _deep,
    ("a", "b"),
    ((0.5, 0.001),),
    ("add",),
    ("add",),
    kind="structure",
)

#: backward() twice on one graph: what happens is reported as a note
REPEAT = Program(
    "repeat",
    "(a * b + a) * b",
    _repeat,
    ("a", "b"),
    ((2.0, -3.0),),
    ("add", "mul"),
    ("add", "mul"),
    kind="structure",
)

#: out.grad after out.backward()
SEED = Program(
    "seed",
    "a * b",
    lambda a, b: a * b,
    ("a", "b"),
    ((2.0, -3.0),),
    ("mul",),
    ("mul",),
    kind="structure",
)

COMPOSITES = [
    Program(
        "neuron",
        "tanh neuron: (x1*w1 + x2*w2 + b).tanh()",
        _neuron,
        ("x1", "w1", "x2", "w2", "b"),
        _NEURON_POINT,
        ("add", "mul", "tanh"),
        ("add", "mul", "tanh"),
        kind="composite",
    ),
    Program(
        "exercise",
        "the exercise's f: -a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5",
        exercise_f,
        ("a", "b", "c"),
        ((2.0, 3.0, 4.0),),
        ("neg", "pow", "rmul", "sin", "rtruediv", "sub", "add"),
        ("neg", "pow", "mul", "sin", "div", "sub", "add"),
        kind="composite",
    ),
    Program(
        "power_mix",
        "-a**3 + b**2.5 - c**-1 - a**0.5",
        _power_mix,
        ("a", "b", "c"),
        ((2.0, 3.0, 4.0),),
        ("neg", "pow", "add", "sub"),
        ("neg", "pow", "add", "sub"),
        kind="composite",
    ),
    Program(
        "softmax_like",
        "-log(exp(a) / (exp(a) + exp(b)))",
        _softmax_like,
        ("a", "b"),
        ((1.0, -0.5),),
        ("exp", "log", "div", "add", "neg"),
        ("exp", "log", "div", "add", "neg"),
        kind="composite",
    ),
    Program(
        "sigmoid_neuron",
        "(a*b + c).sigmoid()",
        _sigmoid_neuron,
        ("a", "b", "c"),
        ((0.5, -2.0, 0.3),),
        ("add", "mul", "sigmoid"),
        ("add", "mul", "sigmoid"),
        kind="composite",
    ),
    Program(
        "relu_unit",
        "(a*b + c).relu() * a",
        _relu_unit,
        ("a", "b", "c"),
        ((0.5, 2.0, 0.3), (0.5, -2.0, 0.3)),
        ("add", "mul", "relu"),
        ("add", "mul", "relu"),
        kind="composite",
    ),
]

OP_PROGRAMS = _op_programs()

#: every program, by key (the child looks programs up by key)
PROGRAMS: dict[str, Program] = {
    p.key: p for p in [*OP_PROGRAMS, *STRUCTURE, DEEP_CHAIN, REPEAT, SEED, *COMPOSITES]
}


# ---- finite differences ------------------------------------------------------------------------


@dataclass(frozen=True)
class TestFunction:
    """A float function with its exact derivative, for the finite-difference checks."""

    key: str
    text: str
    f: Callable[[float], float]
    df: Callable[[float], float]
    x: float


FD_FUNCTIONS: dict[str, TestFunction] = {
    t.key: t
    for t in (
        TestFunction("cubic", "x**3 - 2*x", lambda x: x**3 - 2 * x, lambda x: 3 * x**2 - 2, 1.3),
        TestFunction("sin", "sin(x)", math.sin, math.cos, 0.7),
    )
}

#: the steps each finite-difference function is called with, largest first
FD_STEPS = (1e-1, 1e-2, 1e-3, 1e-4)

#: the difference formulas by name: the learner's function is compared with its own
FD_FORMULAS: dict[str, Callable[[Callable[[float], float], float, float], float]] = {
    "forward": lambda f, x, h: (f(x + h) - f(x)) / h,
    "backward": lambda f, x, h: (f(x) - f(x - h)) / h,
    "symmetric": lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h),
    "symmetric with step h/2": lambda f, x, h: (f(x + h / 2) - f(x - h / 2)) / h,
}

FD_TEXT = {
    "forward": "(f(x + h) - f(x)) / h",
    "backward": "(f(x) - f(x - h)) / h",
    "symmetric": "(f(x + h) - f(x - h)) / (2*h)",
    "symmetric with step h/2": "(f(x + h/2) - f(x - h/2)) / h",
}

#: the learner's function names and the formula each must follow
FD_NAMES = {
    "forward_difference": "forward",
    "backward_difference": "backward",
    "symmetric_difference": "symmetric",
    "central_difference": "symmetric",
}

# ---- the exercise's gradient, softmax and NLL ----------------------------------------------------

GRADF_POINTS = ((2.0, 3.0, 4.0), (1.5, 0.7, -2.0), (0.5, 1.2, 3.0))

SOFTMAX_LOGITS: tuple[Sequence[float], ...] = (
    (0.0, 3.0, -2.0, 1.0),
    (1.0, 2.0),
    (-1.0, -1.0, -1.0),
)
SOFTMAX_GRAD_CASES: tuple[tuple[Sequence[float], int], ...] = (
    ((0.0, 3.0, -2.0, 1.0), 3),
    ((1.0, 2.0, 0.5), 0),
)
NLL_CASES: tuple[tuple[Sequence[float], int], ...] = (((0.2, 0.5, 0.3), 1), ((0.7, 0.3), 0))
LARGE_LOGITS = (1000.0, 0.0)

FUNCTION_NAMES = (*FD_NAMES, "softmax", "nll", "gradf")
