"""Every op in the table: its local derivatives against sympy's exact derivative (evaluated with
mpmath at 50 digits) and against central differences, at several points of its domain."""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp

from gradcli.engine import Value, apply
from gradcli.errors import DomainError
from gradcli.ops import OPS, Op


def _smooth(op: Op, point: tuple[float, ...]) -> bool:
    return op.kink is None or op.kink(*point) is None


def test_ops_every_op_has_sample_points():
    # the points of each op's domain the per-op tests use live in the op table's rows
    for op in OPS.values():
        assert len(op.samples) >= 2, op.name
        assert any(_smooth(op, p) for p in op.samples), op.name
        if op.kink is not None:
            assert any(not _smooth(op, p) for p in op.samples), f"{op.name}: no kink sample"


def _cases() -> list[tuple[str, tuple[float, ...]]]:
    return [(op.name, p) for op in OPS.values() for p in op.samples if _smooth(op, p)]


def _split(op: Op, point: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    n = len(point) - len(op.params)
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
        ("softplus", -40.0),
        ("softplus", 40.0),
        ("gelu", -8.0),
        ("gelu", 8.0),
        ("silu", -40.0),
        ("silu", 40.0),
        ("mish", -20.0),
        ("mish", 15.0),
        ("erf", 5.0),
        ("erfc", 8.0),
        ("log1p", 1e-12),
        ("expm1", -1e-9),
        ("atanh", 1 - 1e-9),
        ("asinh", 1e150),
        ("acosh", 1 + 1e-9),
        ("elu", -30.0),
        ("selu", -30.0),
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


METHODS = [op for op in OPS.values() if op.function]


@pytest.mark.parametrize("op", METHODS, ids=[op.name for op in METHODS])
def test_ops_engine_method_uses_table(op: Op):
    # Value.<name>(...) and apply(OPS[name]) are the same computation, for every function
    point = next(p for p in op.samples if _smooth(op, p))
    inputs, params = _split(op, point)
    vs = [Value(x) for x in inputs]
    out = getattr(vs[0], op.name)(*vs[1:], *params)
    out.backward()
    ref = apply(op, tuple(Value(x) for x in inputs), params)
    assert out.data == ref.data
    assert [v.grad for v in vs] == list(ref._local)


def test_ops_value_methods_come_from_the_table():
    # no hand-written copies: every function of the table is a Value method of the same name
    import inspect

    for op in METHODS:
        method = getattr(Value, op.name)
        assert op.form() in (method.__doc__ or ""), op.name
    assert "def exp" not in inspect.getsource(Value)


KINKS = [(op.name, p) for op in OPS.values() for p in op.samples if not _smooth(op, p)]


@pytest.mark.parametrize(("name", "point"), KINKS, ids=[f"{n}{p}" for n, p in KINKS])
def test_ops_kink_conventions_match_pytorch(name: str, point: tuple[float, ...]):
    # at a kink the derivative does not exist; the table's local derivatives are PyTorch's
    import torch

    op = OPS[name]
    inputs, params = _split(op, point)
    ours = op.partials(op.forward(*point), *point)
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    op.torch(torch, *ts, *params).backward()
    assert list(ours) == [t.grad.item() for t in ts], (name, op.convention)
    assert op.convention, name


mp = mpmath


@pytest.mark.parametrize(
    ("name", "u", "exact"),
    [
        ("softplus", -30.0, lambda: mp.log1p(mp.exp(-30))),
        ("softplus", 1000.0, lambda: 1000 + mp.log1p(mp.exp(-1000))),
        ("log1p", 1e-10, lambda: mp.log1p(mp.mpf(1e-10))),
        ("expm1", 1e-8, lambda: mp.expm1(mp.mpf(1e-8))),
        ("gelu", -10.0, lambda: -10 * mp.erfc(10 / mp.sqrt(2)) / 2),
        ("erfc", 10.0, lambda: mp.erfc(10)),
        ("mish", -30.0, lambda: -30 * mp.tanh(mp.log1p(mp.exp(-30)))),
        ("silu", -40.0, lambda: -40 / (1 + mp.exp(40))),
        ("cbrt", -27.0, lambda: mp.mpf(-3)),
        ("hypot", 1e200, lambda: mp.hypot(mp.mpf(1e200), mp.mpf(2e200))),
    ],
    ids=lambda v: str(v) if not callable(v) else "",
)
def test_ops_values_stay_exact_where_the_naive_formula_is_not(name: str, u: float, exact):
    # the naive log(1 + exp(u)) is 0 at -30 and inf at 1000; log(1 + 1e-10) keeps 7 digits
    args = (u, 2 * u) if name == "hypot" else (u,)
    with mpmath.workdps(50):
        want = float(exact())
    assert OPS[name].forward(*args) == pytest.approx(want, rel=1e-15)


def test_ops_aliases_hints_and_suggestions_come_from_the_table():
    from gradcli.ops import FUNCTIONS, HINTS

    for op in OPS.values():
        for alias in op.aliases:
            assert op in FUNCTIONS[alias], (op.name, alias)
        for name, _ in op.hints:
            assert name not in FUNCTIONS and name in HINTS
    assert FUNCTIONS["ln"] == [OPS["log"]] and OPS["logb"] in FUNCTIONS["log"]


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
        assert callable(op.vpartials), op.name
        assert op.analytic or op.kink is not None or op.name in ("elu", "softsign"), op.name
        assert len(op.defaults) <= len(op.params), op.name
        assert len(op.notes) <= 60, f"{op.name}: keep the ops table's note short ({op.notes!r})"
