"""Every op in the table: its local derivatives against sympy's exact derivative (evaluated with
mpmath at 50 digits) and against central differences, at several points of its domain."""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp

from gradcli.engine import Value, apply
from gradcli.errors import DomainError
from gradcli.ops import FUNCTIONS, OPS, Op

# Points inside each op's domain, away from kinks (kinks are tested by name below). For n-ary ops,
# the number of arguments is the length of each point.
POINTS: dict[str, list[tuple[float, ...]]] = {
    "add": [(1.5, -2.0), (0.3, 4.0, -7.25)],
    "sub": [(1.5, -2.0), (-3.0, 0.25)],
    "mul": [(1.5, -2.0), (-3.0, 0.25)],
    "div": [(1.5, -2.0), (-3.0, 0.25)],
    "neg": [(1.5,), (-0.3,)],
    "pow": [(1.7, 2.0), (2.5, 0.5), (-1.3, 3.0), (0.8, -1.5), (-2.0, -2.0)],
    "powv": [(1.7, 2.0), (0.4, -1.3), (3.0, 0.5)],
    "exp": [(0.0,), (1.3,), (-4.0,)],
    "log": [(0.2,), (1.0,), (7.5,)],
    "sqrt": [(0.2,), (4.0,)],
    "sin": [(0.0,), (1.3,), (-4.0,)],
    "cos": [(0.0,), (1.3,), (-4.0,)],
    "tan": [(0.0,), (1.3,), (-0.7,)],
    "tanh": [(0.0,), (1.3,), (-4.0,)],
    "sigmoid": [(0.0,), (1.3,), (-4.0,)],
    "abs": [(1.3,), (-4.0,)],
    "relu": [(1.3,), (-4.0,)],
    "asin": [(0.0,), (0.5,), (-0.9,)],
    "acos": [(0.0,), (0.5,), (-0.9,)],
    "atan": [(0.0,), (1.3,), (-4.0,)],
    "sinh": [(0.0,), (1.3,), (-4.0,)],
    "cosh": [(0.0,), (1.3,), (-4.0,)],
    "logsumexp": [(0.0, 3.0, -2.0, 1.0), (1000.0, 1001.0, 1002.0), (-5.0,)],
}


def test_ops_every_op_has_points():
    assert set(POINTS) == set(OPS)


def _cases() -> list[tuple[str, tuple[float, ...]]]:
    return [(name, p) for name, pts in POINTS.items() for p in pts]


def _split(op: Op, point: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    n = len(point) - op.params
    return point[:n], point[n:]


@pytest.mark.parametrize(("name", "point"), _cases(), ids=[f"{n}{p}" for n, p in _cases()])
def test_ops_partials_match_sympy(name: str, point: tuple[float, ...]):
    op = OPS[name]
    inputs, params = _split(op, point)
    syms = sp.symbols(f"u0:{len(inputs)}", real=True)
    expr = op.sympy(
        sp, *syms, *[sp.Float(p) if p != int(p) else sp.Integer(int(p)) for p in params]
    )
    out = op.forward(*point)
    local = op.partials(out, *point)
    assert len(local) == len(inputs)
    subs = {s: sp.Float(v, 60) for s, v in zip(syms, inputs)}
    assert out == pytest.approx(float(expr.evalf(50, subs=subs)), rel=1e-13, abs=1e-13)
    for s, got in zip(syms, local):
        exact = float(sp.diff(expr, s).evalf(50, subs=subs))
        assert got == pytest.approx(exact, rel=1e-12, abs=1e-13), (name, s)


@pytest.mark.parametrize(("name", "point"), _cases(), ids=[f"{n}{p}" for n, p in _cases()])
def test_ops_partials_match_central_differences(name: str, point: tuple[float, ...]):
    op = OPS[name]
    inputs, params = _split(op, point)
    local = op.partials(op.forward(*point), *point)
    f = lambda *u: op.mpmath(mpmath, *[mpmath.mpf(x) for x in u], *params)  # noqa: E731
    for i in range(len(inputs)):
        # mpmath's own numerical differentiation (central differences at 40 digits):
        # independent of our rules
        args = list(inputs)
        g = lambda t, i=i, args=args: f(*args[:i], t, *args[i + 1 :])  # noqa: E731
        with mpmath.workdps(40):
            est = float(mpmath.diff(g, mpmath.mpf(inputs[i])))
        assert local[i] == pytest.approx(est, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "u"),
    [
        ("sigmoid", 40.0),
        ("sigmoid", -40.0),
        ("sigmoid", 700.0),
        ("tanh", 20.0),
        ("tanh", -300.0),
        ("asin", 1 - 1e-10),
        ("acos", -1 + 1e-10),
        ("atan", 1e150),
        ("exp", -700.0),
    ],
)
def test_ops_partials_stay_accurate_where_outputs_saturate(name: str, u: float):
    # sigmoid(40) rounds to 1 and 1 - tanh(20)**2 rounds to 0: a derivative computed as
    # out*(1 - out) would be exactly 0, while the true value is ~4e-18. mpmath at 50 digits.
    op = OPS[name]
    got = op.partials(op.forward(u), u)[0]
    with mpmath.workdps(50):
        exact = mpmath.diff(lambda t: op.mpmath(mpmath, t), mpmath.mpf(u))
    assert got == pytest.approx(float(exact), rel=1e-12)


UNARY = sorted(n for n, op in FUNCTIONS.items() if op.arity == 1)


@pytest.mark.parametrize("name", UNARY, ids=UNARY)
def test_ops_engine_method_uses_table(name: str):
    # Value.<name>() and apply(OPS[name]) must be the same computation.
    x = 0.3
    v = Value(x)
    out = getattr(v, name)()
    out.backward()
    ref = apply(OPS[name], (Value(x),))
    assert out.data == ref.data
    assert v.grad == ref._local[0]


def test_ops_kink_conventions_match_pytorch():
    # relu'(0) = 0 and abs'(0) = 0, as torch.autograd gives
    for name in ("relu", "abs"):
        v = Value(0.0)
        getattr(v, name)().backward()
        assert v.grad == 0.0, name


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("log", (0.0,)),
        ("log", (-1.0,)),
        ("sqrt", (-1e-300,)),
        ("asin", (1.0000001,)),
        ("acos", (-2.0,)),
        ("div", (1.0, 0.0)),
        ("exp", (710.0,)),
        ("cosh", (-711.0,)),
        ("sinh", (711.0,)),
    ],
)
def test_ops_outside_domain_raise_domain_error(name: str, args: tuple[float, ...]):
    with pytest.raises(DomainError, match=name if name != "div" else "division by zero"):
        apply(OPS[name], tuple(Value(a) for a in args))


def test_ops_pow_domain():
    with pytest.raises(DomainError, match="fractional power of a negative"):
        Value(-2.0) ** 0.5
    with pytest.raises(DomainError, match="divides by zero"):
        Value(0.0) ** -1
    with pytest.raises(DomainError, match="positive base"):
        Value(-2.0) ** Value(2.0)
    # integer powers of negatives are fine, and so are their derivatives
    v = Value(-2.0)
    (v**3).backward()
    assert v.grad == 12.0


def test_ops_derivative_infinite_is_inf_not_error_in_engine():
    # The engine stores an infinite local derivative; the evaluator turns it into an error.
    assert apply(OPS["sqrt"], (Value(0.0),))._local == (math.inf,)
    assert apply(OPS["asin"], (Value(1.0),))._local == (math.inf,)


def test_ops_table_fields_complete():
    for op in OPS.values():
        assert op.rule and op.domain, op.name
        assert op.arity == -1 or len(op.rule) == op.arity, op.name
        assert callable(op.sympy) and callable(op.torch) and callable(op.numpy), op.name
