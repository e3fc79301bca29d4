"""Softmax, log-softmax, logsumexp and cross-entropy on Values, against mpmath and torch."""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli import Value, cross_entropy, log_softmax, logsumexp, nll, softmax
from gradcli.evaluate import build
from gradcli.nn import central_difference, naive_softmax, softmax_report
from gradcli.parse import parse

CLASSIC = [0.0, 3.0, -2.0, 1.0]
# log(1 + e**3 + e**-2 + e) - 1, by hand; mpmath agrees to 50 digits below
CLASSIC_LOSS = 2.1755153626167147


def mp_softmax(xs: list[float]) -> list[mpmath.mpf]:
    with mpmath.workdps(60):
        es = [mpmath.exp(mpmath.mpf(x)) for x in xs]
        s = mpmath.fsum(es)
        return [e / s for e in es]


def mp_loss(xs: list[float], t: int) -> float:
    with mpmath.workdps(60):
        lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(x)) for x in xs))
        return float(lse - mpmath.mpf(xs[t]))


def mp_gradient(xs: list[float], t: int) -> list[float]:
    return [float(p - (1 if i == t else 0)) for i, p in enumerate(mp_softmax(xs))]


def loss_and_grad(xs: list[float], t: int) -> tuple[float, list[float]]:
    leaves = [Value(x) for x in xs]
    loss = cross_entropy(leaves, t)
    loss.backward()
    return loss.data, [v.grad for v in leaves]


def test_nn_classic_example_loss_and_gradient() -> None:
    loss, grad = loss_and_grad(CLASSIC, 3)
    assert abs(mp_loss(CLASSIC, 3) - CLASSIC_LOSS) < 1e-15
    assert abs(loss - CLASSIC_LOSS) < 1e-12
    for g, ref in zip(grad, mp_gradient(CLASSIC, 3), strict=True):
        assert abs(g - ref) < 1e-12


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-60, 60, allow_nan=False), min_size=1, max_size=12),
    st.integers(0, 11),
)
def test_nn_gradient_is_softmax_minus_onehot(xs: list[float], t: int) -> None:
    t %= len(xs)
    loss, grad = loss_and_grad(xs, t)
    assert abs(loss - mp_loss(xs, t)) <= 1e-12 * max(1.0, abs(loss))
    for g, ref in zip(grad, mp_gradient(xs, t), strict=True):
        assert abs(g - ref) < 1e-12


LARGE = [
    [1000.0, 1001.0, 1002.0],
    [-1000.0, 0.0, 1000.0],
    [-1000.0, -1001.0, -1002.0],
    [1e6, 1e6 + 1, -3.0],
    [750.0, -750.0],
]


@pytest.mark.parametrize("xs", LARGE, ids=lambda xs: " ".join(f"{x:g}" for x in xs))
def test_nn_large_and_negative_logits(xs: list[float]) -> None:
    for t in range(len(xs)):
        loss, grad = loss_and_grad(xs, t)
        assert math.isfinite(loss)
        assert abs(loss - mp_loss(xs, t)) <= 1e-12 * max(1.0, abs(loss))
        for g, ref in zip(grad, mp_gradient(xs, t), strict=True):
            assert abs(g - ref) < 1e-12


@pytest.mark.parametrize("xs", [CLASSIC, *LARGE], ids=lambda xs: " ".join(f"{x:g}" for x in xs))
def test_nn_softmax_and_log_softmax_match_mpmath(xs: list[float]) -> None:
    ref = mp_softmax(xs)
    for p, r in zip(softmax(xs), ref, strict=True):
        assert abs(p.data - float(r)) < 1e-15
    for lp, r in zip(log_softmax(xs), ref, strict=True):
        with mpmath.workdps(60):
            exact = float(mpmath.log(r)) if r > 0 else -math.inf
        assert abs(lp.data - exact) <= 1e-12 * max(1.0, abs(exact))


def test_nn_softmax_gradient_through_the_graph() -> None:
    # d softmax(x)_0 / d x_j = p_0 * (delta_0j - p_j)
    leaves = [Value(x) for x in CLASSIC]
    softmax(leaves)[0].backward()
    p = mp_softmax(CLASSIC)
    for j, v in enumerate(leaves):
        assert abs(v.grad - float(p[0] * ((1 if j == 0 else 0) - p[j]))) < 1e-14


def test_nn_logsumexp_is_one_op_table_node() -> None:
    leaves = [Value(x) for x in [1000.0, 1001.0, 1002.0]]
    out = logsumexp(leaves)
    assert out._op == "logsumexp"
    assert out._prev == tuple(leaves)
    out.backward()
    with mpmath.workdps(60):
        exact = 1002 + mpmath.log(mpmath.exp(-2) + mpmath.exp(-1) + 1)
    assert abs(out.data - float(exact)) < 1e-12
    for v, p in zip(leaves, mp_softmax([1000.0, 1001.0, 1002.0]), strict=True):
        assert abs(v.grad - float(p)) < 1e-15


def test_nn_nll_is_cross_entropy_of_logits() -> None:
    assert nll is cross_entropy
    assert abs(nll(CLASSIC, 1).data - mp_loss(CLASSIC, 1)) < 1e-12


def test_nn_matches_torch_cross_entropy_float64() -> None:
    import torch

    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 50, generator=gen, dtype=torch.float64) * 20
    x.requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(x, torch.tensor([17]))
    loss.backward()
    assert x.grad is not None
    ours_loss, ours_grad = loss_and_grad(x.detach()[0].tolist(), 17)
    assert abs(ours_loss - loss.item()) < 1e-12 * max(1.0, abs(loss.item()))
    for g, ref in zip(ours_grad, x.grad[0].tolist(), strict=True):
        assert abs(g - ref) < 1e-12


def test_nn_expression_form_matches_the_engine() -> None:
    ev = build(parse("logsumexp(a, b, c, d) - d"), dict(zip("abcd", CLASSIC, strict=True)))
    loss, grad = loss_and_grad(CLASSIC, 3)
    ref = mp_gradient(CLASSIC, 3)
    assert abs(ev.value - CLASSIC_LOSS) < 1e-12
    assert abs(ev.value - loss) < 1e-12
    for name, g, r in zip("abcd", grad, ref, strict=True):
        assert abs(ev.gradient[name] - r) < 1e-12
        assert abs(ev.gradient[name] - g) < 1e-12


@pytest.mark.parametrize("xs", [CLASSIC, *LARGE], ids=lambda xs: " ".join(f"{x:g}" for x in xs))
def test_nn_central_difference_is_close_to_the_exact_gradient(xs: list[float]) -> None:
    for t in range(len(xs)):
        for fd, ref in zip(central_difference(xs, t), mp_gradient(xs, t), strict=True):
            assert abs(fd - ref) < 1e-8


def test_nn_central_difference_on_10000_logits_matches_torch() -> None:
    import torch

    gen = torch.Generator().manual_seed(7)
    x = (torch.randn(1, 10_000, generator=gen, dtype=torch.float64) * 4).requires_grad_(True)
    torch.nn.functional.cross_entropy(x, torch.tensor([123])).backward()
    assert x.grad is not None
    fd = central_difference(x.detach()[0].tolist(), 123)
    assert max(abs(a - b) for a, b in zip(fd, x.grad[0].tolist(), strict=True)) < 1e-8


def test_nn_naive_softmax_overflows_and_underflows() -> None:
    over = naive_softmax([1000.0, 1001.0, 1002.0])
    assert over.probs == [None, None, None]
    assert over.problem is not None and "overflow" in over.problem
    under = naive_softmax([-1000.0, -1001.0])
    assert under.probs == [None, None]
    assert under.problem is not None and "0/0" in under.problem
    fine = naive_softmax(CLASSIC)
    assert fine.problem is None
    for p, r in zip(fine.probs, mp_softmax(CLASSIC), strict=True):
        assert p is not None and abs(p - float(r)) < 1e-15


def test_nn_report_columns_agree() -> None:
    r = softmax_report(CLASSIC, 3)
    assert r.agree and r.torch_status == "ok"
    ref = mp_gradient(CLASSIC, 3)
    for col in (r.gradient, r.closed_form, r.torch):
        assert col is not None
        assert max(abs(a - b) for a, b in zip(col, ref, strict=True)) < 1e-12
    assert max(abs(a - b) for a, b in zip(r.finite_difference, ref, strict=True)) < 1e-8


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: cross_entropy([], 0), ValueError),
        (lambda: cross_entropy([1.0, 2.0], 2), IndexError),
        (lambda: cross_entropy([1.0, 2.0], -1), IndexError),
        (lambda: cross_entropy([1.0, 2.0], True), TypeError),
        (lambda: softmax([]), ValueError),
        (lambda: softmax_report([1.0, math.inf], 0), ValueError),
    ],
    ids=["empty", "target-too-big", "target-negative", "bool-target", "empty-softmax", "inf"],
)
def test_nn_bad_input_raises(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # type: ignore[operator]


def test_nn_imports_neither_numpy_nor_torch() -> None:
    code = "import sys, gradcli.nn; print('numpy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("xs", "t"),
    [([1e20, 0.0], 0), ([1e20, 0.0], 1), ([0.0, 1.7e308, 0.0], 0), ([0.0, 1.7e308, 0.0], 1)],
    ids=["1e20-t0", "1e20-t1", "1.7e308-t0", "1.7e308-t1"],
)
def test_nn_central_difference_never_overflows_in_exp(xs: list[float], t: int) -> None:
    fd = central_difference(xs, t)
    assert None not in fd
    for d, ref in zip(fd, mp_gradient(xs, t), strict=True):
        assert d is not None and abs(d - ref) < 1e-8


def test_nn_central_difference_is_none_where_the_step_overflows() -> None:
    big = 1.7976931348623157e308  # the largest float: x + h is inf for any h > 0
    fd = central_difference([big, 0.0], 0)
    assert fd[0] is None and fd[1] == pytest.approx(0.0, abs=1e-300)
    report = softmax_report([big, 0.0], 0, use_torch=False)
    assert report.fd_missing == [0]
    assert report.agree  # the entries that could be computed agree; none is a mismatch
    assert report.deviation["finite_difference"] <= 1e-8
