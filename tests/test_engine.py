"""The Value engine: micrograd compatibility, deep graphs, reuse, repeated backward."""

from __future__ import annotations

import random
import sys

import pytest
import torch

from gradcli import Value
from gradcli.torchcheck import micrograd_more_ops, micrograd_sanity_check


def test_engine_micrograd_readme_example():
    # micrograd's README example (the same program as its test_more_ops); the README prints
    # 24.7041, 138.8338 and 645.5773.
    a = Value(-4.0)
    b = Value(2.0)
    g = micrograd_more_ops(a, b)
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


# micrograd's test programs, written once for Values and tensors alike (they are inputs here;
# torch in float64 is the reference)
_sanity = micrograd_sanity_check
_more_ops = micrograd_more_ops


def test_engine_micrograd_sanity_check_matches_torch():
    x = Value(-4.0)
    y = _sanity(x)
    y.backward()
    xt = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    yt = _sanity(xt)
    yt.backward()
    assert y.data == yt.item()
    assert x.grad == xt.grad.item()


def test_engine_micrograd_more_ops_matches_torch():
    a, b = Value(-4.0), Value(2.0)
    g = _more_ops(a, b)
    g.backward()
    at = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    bt = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    gt = _more_ops(at, bt)
    gt.backward()
    assert g.data == pytest.approx(gt.item(), rel=1e-12)
    assert a.grad == pytest.approx(at.grad.item(), rel=1e-12)
    assert b.grad == pytest.approx(bt.grad.item(), rel=1e-12)


def test_engine_micrograd_mlp_matches_micrograd():
    # micrograd's own nn module, once on micrograd's Value and once on ours: same numbers.
    import micrograd.engine
    import micrograd.nn as mnn

    def run(value_cls):
        mnn.Value = value_cls
        random.seed(7)
        model = mnn.MLP(2, [4, 4, 1])
        xs = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]]
        ys = [1, -1, 1]
        scores = [model(list(map(value_cls, x))) for x in xs]
        losses = [(1 + -y * s).relu() for y, s in zip(ys, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        return loss.data, [p.grad for p in model.parameters()]

    try:
        ref_loss, ref_grads = run(micrograd.engine.Value)
        loss, grads = run(Value)
    finally:
        mnn.Value = micrograd.engine.Value
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert grads == pytest.approx(ref_grads, rel=1e-12, abs=1e-15)


def test_engine_deep_chain_far_past_the_recursion_limit():
    # 200,000 nodes deep, 200 times the default recursion limit: the topological sort and the
    # backward pass never recurse (a million proves nothing more and took 18% of the suite)
    assert sys.getrecursionlimit() <= 1000 + 100  # nobody raised it for us
    x = Value(1.0)
    y = x
    for _ in range(200_000):
        y = y + 5e-6
    y.backward()
    assert y.data == pytest.approx(2.0, rel=1e-9)
    assert x.grad == 1.0


def test_engine_reused_node_accumulates():
    x = Value(3.0)
    terms = [x * x for _ in range(1000)]  # d/dx sum of 1000 x^2 = 2000 x
    y = sum(terms)
    y.backward()
    assert x.grad == pytest.approx(6000.0, rel=1e-12)
    x.grad = 0.0
    z = x * x * x  # the same leaf three times in one product chain: 3 x^2
    z.backward()
    assert x.grad == pytest.approx(27.0)


def test_engine_numbers_on_either_side_and_sum():
    x = Value(2.0)
    exprs = {
        "1 + x": (1 + x, 3.0, 1.0),
        "x - 5": (x - 5, -3.0, 1.0),
        "5 - x": (5 - x, 3.0, -1.0),
        "3 * x": (3 * x, 6.0, 3.0),
        "x / 4": (x / 4, 0.5, 0.25),
        "4 / x": (4 / x, 2.0, -1.0),
        "x ** 3": (x**3, 8.0, 12.0),
        "-x": (-x, -2.0, -1.0),
        "sum": (sum([x, x, 1.0]), 5.0, 2.0),
    }
    for label, (out, value, grad) in exprs.items():
        x.grad = 0.0
        out.backward()
        assert (out.data, x.grad) == (value, grad), label


def test_engine_value_exponent():
    # d/db a**b = a**b ln a ; d/da = b a**(b-1)
    a, b = Value(2.0), Value(3.0)
    y = a**b
    y.backward()
    assert y.data == 8.0
    assert b.grad == pytest.approx(8.0 * 0.6931471805599453, rel=1e-15)
    assert a.grad == pytest.approx(12.0)
    c = Value(0.5)
    z = 2**c  # number ** Value
    z.backward()
    assert c.grad == pytest.approx(2**0.5 * 0.6931471805599453, rel=1e-15)


def test_engine_repr_and_micrograd_attributes():
    a = Value(1.0)
    b = a * 2
    assert repr(a) == "Value(data=1.0, grad=0.0)"
    assert a in b._prev and b._op == "mul"


def test_engine_hot_path_nodes_match_init():
    # a + b, -a and a.relu() build their nodes without calling __init__ (for speed): they must
    # set exactly what __init__ sets, to the same kind of values
    a, b = Value(2.0), Value(-3.0)
    made = Value(1.0, (a, b), "mul", "", (-3.0, 2.0))
    for node in (a * b, 2 * a, -a, a.relu(), a - 1):
        for slot in Value.__slots__:
            assert hasattr(node, slot) == hasattr(made, slot), slot
        assert type(node._prev) is tuple and type(node._local) is tuple
        assert node.label == "" and node._bw is None and node.grad == 0.0
        assert node._id > b._id
