"""The promises of issue 10: micrograd's habits and PyTorch's accumulation rule, checked against
micrograd itself and PyTorch in float64; gradients of gradients against sympy."""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch

from gradcli import Value, grad, jvp, zero_grad
from gradcli.ops import OPS


def _t(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


# ---- accumulation: PyTorch's rule --------------------------------------------------------------


def test_engine_two_losses_accumulate_into_a_shared_weight():
    # micrograd and torch both give 3 + 4 = 7 for a weight shared by two losses
    from micrograd.engine import Value as MicroValue

    def run(cls):
        w = cls(2.0)
        (w * 3.0).backward()
        (w * 4.0).backward()
        return w.grad

    wt = _t(2.0)
    (wt * 3.0).backward()
    (wt * 4.0).backward()
    assert run(Value) == run(MicroValue) == wt.grad.item() == 7.0


def test_engine_per_sample_loop_sums_the_gradients():
    w = Value(3.0)
    for x in (1.0, 2.0, 3.0):
        (w * x).backward()
    assert w.grad == 6.0
    zero_grad([w])
    assert w.grad == 0.0
    (w * 5.0).backward()
    assert w.grad == 5.0  # after zeroing, only the new loss


def test_engine_backward_twice_does_not_compound_inner_nodes():
    # micrograd compounds its inner nodes (14 here); torch with retain_graph gives 10
    from micrograd.engine import Value as MicroValue

    m = MicroValue(2.0)
    my = m * m + m
    my.backward()
    my.backward()
    x = Value(2.0)
    y = x * x + x
    y.backward()
    y.backward()
    xt = _t(2.0)
    yt = xt * xt + xt
    yt.backward(retain_graph=True)
    yt.backward()
    assert m.grad == 14.0  # micrograd's bug, for the record
    assert x.grad == xt.grad.item() == 10.0
    assert y.grad == 1.0  # the output itself is not accumulated


def test_engine_inner_gradients_are_reset_each_call():
    x = Value(2.0)
    h = x * x
    y = h * 3.0
    y.backward()
    y.backward()
    assert h.grad == 3.0  # d y / d h, each time
    assert x.grad == 24.0  # 12 + 12


# ---- micrograd's extension API -----------------------------------------------------------------


def _micrograd_tanh(self):
    # the lecture's tanh, as a user writes it: a new node and a closure
    t = (math.exp(2 * self.data) - 1) / (math.exp(2 * self.data) + 1)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def test_engine_user_closure_on_a_plain_value_is_honoured():
    x = Value(0.7, label="x")
    y = _micrograd_tanh(x) * 2.0 + x
    y.backward()
    xt = _t(0.7)
    (torch.tanh(xt) * 2.0 + xt).backward()
    assert x.grad == pytest.approx(xt.grad.item(), rel=1e-15)
    assert x.label == "x"


def test_engine_subclass_methods_with_closures_work():
    class MyValue(Value):
        def cube(self):
            out = MyValue(self.data**3, (self,), "cube")

            def _backward():
                self.grad += 3 * self.data**2 * out.grad

            out._backward = _backward
            return out

    a = MyValue(1.5)
    y = a.cube() + a * 2
    y.backward()
    assert a.grad == pytest.approx(3 * 1.5**2 + 2, rel=1e-15)


def test_engine_manual_backward_calls_as_in_the_lecture():
    # the lecture's neuron, backpropagated by hand node by node
    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
    x2, w2 = Value(0.0, label="x2"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = n.tanh()
    o.grad = 1.0
    o._backward()
    n._backward()
    b._backward()  # a leaf: nothing to do
    x1w1x2w2._backward()
    x1w1._backward()
    x2w2._backward()
    assert n.grad == pytest.approx(0.5, abs=1e-6)  # 1 - tanh(n)**2 with tanh(n) = 0.7071
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx(
        (-3 * 0.5, 2 * 0.5, 1 * 0.5, 0.0), abs=1e-6
    )


def test_engine_runs_micrograd_nn_and_its_tests_unchanged():
    # micrograd's own test file, with its Value replaced by gradcli's
    import micrograd.nn as mnn
    from micrograd.engine import Value as MicroValue

    from gradcli.torchcheck import micrograd_more_ops

    a, b = Value(-4.0), Value(2.0)
    g = micrograd_more_ops(a, b)
    g.backward()
    ma, mb = MicroValue(-4.0), MicroValue(2.0)
    mg = micrograd_more_ops(ma, mb)
    mg.backward()
    assert (g.data, a.grad, b.grad) == pytest.approx((mg.data, ma.grad, mb.grad), rel=1e-13)
    try:
        mnn.Value = Value
        model = mnn.MLP(3, [4, 1])
        out = model([Value(1.0), Value(-2.0), Value(0.5)])
        out.backward()
        assert all(isinstance(p.grad, float) for p in model.parameters())
        model.zero_grad()
        assert all(p.grad == 0 for p in model.parameters())
    finally:
        mnn.Value = MicroValue


# ---- gradients of gradients ---------------------------------------------------------------------

X, Y = sp.symbols("x y", real=True)


def _sympy_at(expr: sp.Expr, x: float, y: float) -> float:
    return float(expr.evalf(50, subs={X: x, Y: y}))


@pytest.mark.parametrize(
    ("build", "sym"),
    [
        (lambda x, y: x**3 * y + (x * y).sin(), X**3 * Y + sp.sin(X * Y)),
        (lambda x, y: (x / y).exp() + x.log() * y**2, sp.exp(X / Y) + sp.log(X) * Y**2),
        (lambda x, y: (x * y).tanh() + x.sigmoid(), sp.tanh(X * Y) + 1 / (1 + sp.exp(-X))),
        (lambda x, y: x**y + (x * x + y).sqrt(), X**Y + sp.sqrt(X**2 + Y)),
    ],
    ids=["poly-sin", "exp-log", "tanh-sigmoid", "powv-sqrt"],
)
def test_engine_grad_create_graph_gives_the_hessian(build, sym):
    x0, y0 = 1.3, 0.7
    x, y = Value(x0), Value(y0)
    f = build(x, y)
    gx, gy = grad(f, [x, y], create_graph=True)
    for row, g in zip((X, Y), (gx, gy)):
        assert g.data == pytest.approx(_sympy_at(sp.diff(sym, row), x0, y0), rel=1e-13)
        hx, hy = grad(g, [x, y])
        for col, h in zip((X, Y), (hx, hy)):
            assert h == pytest.approx(_sympy_at(sp.diff(sym, row, col), x0, y0), rel=1e-12)
    assert x.grad == 0.0 and y.grad == 0.0  # grad() leaves .grad alone


@pytest.mark.parametrize(
    ("fn", "sym", "at"),
    [
        (lambda x: x.sin() * x.exp(), sp.sin(X) * sp.exp(X), 0.4),
        (lambda x: x.tanh(), sp.tanh(X), 0.8),
        (lambda x: x**5 - 3 * x**2, X**5 - 3 * X**2, 1.7),
        (lambda x: x.gelu(), X * (1 + sp.erf(X / sp.sqrt(2))) / 2, -0.6),
        (lambda x: x.softplus(), sp.log(1 + sp.exp(X)), 0.9),
    ],
    ids=["sin-exp", "tanh", "poly", "gelu", "softplus"],
)
def test_engine_third_and_fourth_derivatives_match_sympy(fn, sym, at):
    x = Value(at)
    g = fn(x)
    for order in range(1, 5):
        (g,) = grad(g, [x], create_graph=True)
        exact = float(sp.diff(sym, X, order).evalf(50, subs={X: at}))
        assert g.data == pytest.approx(exact, rel=1e-10, abs=1e-12), order


SMOOTH = [op for op in OPS.values() if op.kink is None and op.analytic and op.name != "powv"]


@pytest.mark.parametrize("op", SMOOTH, ids=[op.name for op in SMOOTH])
def test_engine_every_vpartial_differentiates_to_sympys_second_derivative(op):
    # one op, at its first sample: d2 op / du_i du_j through create_graph against sympy
    sample = op.samples[0]
    k = len(sample) - len(op.params)
    inputs = [Value(v) for v in sample[:k]]
    out = _apply(op, inputs, sample[k:])
    syms = sp.symbols(f"u0:{k}", real=True)
    params = [sp.Float(p) for p in sample[k:]]
    expr = op.sympy(sp, *syms, *params)
    subs = {s: sp.Float(v, 60) for s, v in zip(syms, sample[:k])}
    first = grad(out, inputs, create_graph=True)
    for i, gi in enumerate(first):
        assert gi.data == pytest.approx(
            float(sp.diff(expr, syms[i]).evalf(50, subs=subs)), rel=1e-12, abs=1e-14
        )
        for j, hij in enumerate(grad(gi, inputs)):
            exact = float(sp.diff(expr, syms[i], syms[j]).evalf(50, subs=subs))
            assert hij == pytest.approx(exact, rel=1e-9, abs=1e-12), (op.name, i, j)


def _apply(op, inputs, params):
    from gradcli.engine import apply

    return apply(op, tuple(inputs), tuple(params))


def test_engine_second_order_mutation_is_caught(monkeypatch):
    # plant a wrong second-derivative rule (sin' = cos, but written as sin): the Hessian check
    # must disagree with sympy
    import dataclasses

    from gradcli import ops

    wrong = dataclasses.replace(OPS["sin"], vpartials=lambda out, u: (u.sin(),))
    monkeypatch.setitem(ops.OPS, "sin", wrong)
    x = Value(0.5)
    f = x.sin()
    (g,) = grad(f, [x], create_graph=True)
    (h,) = grad(g, [x])
    assert h != pytest.approx(-math.sin(0.5), rel=1e-6)


def test_engine_user_closure_cannot_be_differentiated_twice_and_says_so():
    from gradcli.errors import DomainError

    x = Value(0.3)
    y = _micrograd_tanh(x)
    assert grad(y, [x]) == [pytest.approx(1 - math.tanh(0.3) ** 2)]
    with pytest.raises(DomainError, match="user-defined _backward"):
        grad(y, [x], create_graph=True)


# ---- forward mode -------------------------------------------------------------------------------


def test_engine_jvp_gives_jacobian_columns_equal_to_reverse_rows():
    x, y = Value(1.2), Value(-0.4)
    outs = [x * y + x.sin(), (x - y).exp() * y, x.atan2(y)]
    reverse = [grad(o, [x, y]) for o in outs]  # one pass per output: rows
    cols = [jvp(outs, [x, y], t) for t in ((1.0, 0.0), (0.0, 1.0))]  # one pass per input
    for i in range(3):
        for j in range(2):
            assert cols[j][i] == pytest.approx(reverse[i][j], rel=1e-15)
    xt, yt = _t(1.2), _t(-0.4)
    jac = torch.autograd.functional.jacobian(
        lambda a, b: torch.stack([a * b + a.sin(), (a - b).exp() * b, torch.atan2(a, b)]),
        (xt.detach(), yt.detach()),
    )
    for i in range(3):
        for j in range(2):
            assert cols[j][i] == pytest.approx(jac[j][i].item(), rel=1e-14)
