"""gradcli.torchcheck: gradcli's Value graph against PyTorch autograd.

The torch side is itself checked against independent references: sympy's exact derivative
evaluated with mpmath at 50 digits, the micrograd package, and hand-computed numbers.
"""

from __future__ import annotations

import dataclasses
import math
import sys

import mpmath
import pytest

from gradcli import reference
from gradcli.errors import MissingDependencyError
from gradcli.ops import OPS
from gradcli.parse import parse
from gradcli.torchcheck import (
    DEFAULT_TOLERANCES,
    PROGRAMS,
    SOFTMAX_NLL_EXPR,
    SOFTMAX_NLL_POINT,
    check_expression,
    check_program,
    compare_number,
    op_cases,
    resolve_tolerances,
    suite,
    torch_side,
    verify,
)

F64 = DEFAULT_TOLERANCES["float64"]


def _close(a: float, b: float, rel: float = 1e-12, abs_: float = 1e-14) -> bool:
    return abs(a - b) <= abs_ + rel * abs(b)


@pytest.fixture(scope="module")
def side():
    return torch_side("float64", "cpu")


@pytest.mark.parametrize("op", list(OPS.values()), ids=list(OPS))
def test_torchcheck_every_op_agrees_with_sympy(op, side):
    cases = list(op_cases(op))
    assert len(cases) >= 2, f"{op.name}: fewer than two points in its domain"
    for label, expression, point in cases:
        case = check_expression(expression, point, side, rtol=F64[0], atol=F64[1], name=label)
        assert case.passed, label
        exact = reference.exact_gradient(expression, point)
        sym = reference.symbolic(expression)
        value = float(reference.evaluate(sym.expr, point, sym.symbols))
        for name, q in case.gradient.items():
            assert _close(q.gradcli, float(exact[name])), (label, name)
        assert _close(case.value.gradcli, value), label
        if case.known:  # torch's own function differs here, by at most the recorded bound
            gap = op.torch_gap(*point.values())
            assert gap is not None and "torch" in gap[0]
            assert all(abs(q.torch - q.gradcli) <= gap[1] for q in case.quantities), label
            continue
        assert _close(case.value.torch, value), label
        for name, q in case.gradient.items():
            assert _close(q.torch, float(exact[name])), (label, name)


def test_torchcheck_softplus_records_torchs_threshold(side):
    # torch's softplus is u itself past 20: the difference is real, recorded, and bounded
    case = check_expression(parse("softplus(u)"), {"u": 25.0}, side, rtol=0, atol=0)
    assert case.known and "threshold of 20" in case.known
    assert case.value.torch == 25.0
    assert case.value.gradcli == pytest.approx(25.0 + math.log1p(math.exp(-25.0)), rel=1e-16)
    assert case.passed


KINKED = [op for op in OPS.values() if op.kink is not None]


@pytest.mark.parametrize("op", KINKED, ids=[op.name for op in KINKED])
def test_torchcheck_kinks_follow_pytorch(op, side):
    # At a kink (relu or abs at 0, a tie of max, clamp at a bound, selu at 0) the derivative
    # does not exist; gradcli's local derivatives follow PyTorch's convention exactly. The suite
    # must test such a point for every op that has one.
    kinks = [(e, p) for _, e, p in op_cases(op) if op.kink(*p.values(), *e.root.params)]
    assert kinks, f"{op.name}: no kink in the suite"
    for expression, point in kinks:
        case = check_expression(expression, point, side, rtol=0.0, atol=0.0)
        assert case.kink
        for q in case.gradient.values():
            assert q.gradcli == q.torch, (op.name, point, op.convention)
        assert case.passed


def test_torchcheck_pow_has_integer_and_fractional_exponents() -> None:
    exponents = {e.root.params[0] for _, e, _ in op_cases(OPS["pow"])}
    assert any(n == int(n) for n in exponents)
    assert any(n != int(n) for n in exponents)
    assert any(n < 0 for n in exponents)
    assert list(op_cases(OPS["powv"]))


def test_torchcheck_micrograd_programs_match_micrograd(side) -> None:
    from micrograd.engine import Value as MicroValue

    for program in PROGRAMS:
        case = check_program(program, side, rtol=F64[0], atol=F64[1])
        leaves = {n: MicroValue(x) for n, x in program.point.items()}
        out = program.fn(**leaves)
        out.backward()
        assert case.passed, program.name
        assert _close(case.value.torch, out.data)
        assert _close(case.value.gradcli, out.data)
        for n, leaf in leaves.items():
            assert _close(case.gradient[n].torch, leaf.grad), (program.name, n)
            assert _close(case.gradient[n].gradcli, leaf.grad), (program.name, n)


def test_torchcheck_micrograd_more_ops_readme_numbers(side) -> None:
    # micrograd's README: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773
    case = check_program(PROGRAMS[1], side, rtol=F64[0], atol=F64[1])
    assert round(case.value.torch, 4) == 24.7041
    assert round(case.gradient["a"].torch, 4) == 138.8338
    assert round(case.gradient["b"].torch, 4) == 645.5773


def test_torchcheck_softmax_nll_matches_mpmath(side) -> None:
    case = check_expression(
        parse(SOFTMAX_NLL_EXPR), SOFTMAX_NLL_POINT, side, rtol=F64[0], atol=F64[1]
    )
    with mpmath.workdps(50):
        logits = [mpmath.mpf(x) for x in SOFTMAX_NLL_POINT.values()]
        total = mpmath.fsum(mpmath.exp(x) for x in logits)
        loss = mpmath.log(total) - logits[3]
        grads = [mpmath.exp(x) / total - (1 if i == 3 else 0) for i, x in enumerate(logits)]
    assert case.passed
    assert _close(case.value.torch, float(loss))
    assert abs(float(loss) - 2.1755153626167147) < 1e-15
    for q, g in zip(case.gradient.values(), grads, strict=True):
        assert _close(q.torch, float(g))
        assert _close(q.gradcli, float(g))


def test_torchcheck_suite_covers_every_op_and_passes(side) -> None:
    cases = suite(side, rtol=F64[0], atol=F64[1])
    assert all(c.passed for c in cases), [c.name for c in cases if not c.passed]
    names = [c.name for c in cases]
    assert names[:4] == [
        "micrograd exercise",
        "softmax + NLL, target 3",
        "micrograd test_sanity_check",
        "micrograd test_more_ops",
    ]
    for op in OPS:
        assert any(n.startswith(f"{op} ") for n in names), op


def test_torchcheck_wrong_partial_is_detected(monkeypatch, side) -> None:
    wrong = dataclasses.replace(OPS["sin"], partials=lambda out, u: (-math.cos(u),))
    monkeypatch.setitem(OPS, "sin", wrong)
    cases = suite(side, rtol=F64[0], atol=F64[1])
    failed = {c.name for c in cases if not c.passed}
    # sin'(0) = 1 and sin'(u) = cos(u) != 0 at every suite point: every sin case fails, plus the
    # classic exercise (it contains sin(3*b)); nothing else does.
    assert failed == {"micrograd exercise"} | {c.name for c in cases if c.name.startswith("sin ")}
    bad = next(c for c in cases if c.name == "sin at u=0")
    assert bad.gradient["u"].torch == 1.0
    assert bad.gradient["u"].gradcli == -1.0
    assert bad.gradient["u"].abs_diff == 2.0


def test_torchcheck_compare_number_hand_checked() -> None:
    # |a - b| <= atol + rtol*|b|, boundary included (binary-exact numbers)
    assert compare_number("x", 1.5, 1.0, rtol=0.25, atol=0.25).passed
    assert not compare_number("x", 1.5, 1.0, rtol=0.25, atol=0.125).passed
    assert not compare_number("x", 1.0 + 3e-10, 1.0, rtol=1e-10, atol=0.0).passed
    q = compare_number("x", 3.0, 2.0, rtol=0.0, atol=1.0)
    assert (q.abs_diff, q.rel_diff, q.passed) == (1.0, 0.5, True)
    q = compare_number("x", 1e-13, 0.0, rtol=1e-10, atol=1e-12)
    assert q.passed and q.rel_diff is None
    assert not compare_number("x", 1.0, math.nan, rtol=1.0, atol=1.0).passed
    assert not compare_number("x", 1.0, math.inf, rtol=1.0, atol=1.0).passed
    assert compare_number("x", 0.0, 0.0, rtol=0.0, atol=0.0).passed


def test_torchcheck_float32_tolerances() -> None:
    assert resolve_tolerances("float64", None, None) == (1e-10, 1e-12, None)
    rtol, atol, note = resolve_tolerances("float32", None, None)
    # float32 keeps 24 bits: eps = 2**-23 ~ 1.2e-7; the defaults sit two orders above it
    assert 2**-23 < rtol <= 1e-4 and 0 < atol <= 1e-5
    assert note is not None and "float32" in note
    assert resolve_tolerances("float32", 1e-15, 0.0)[:2] == (1e-15, 0.0)


def test_torchcheck_float32_suite() -> None:
    loose = verify(None, dtype="float32")
    assert loose.passed, [c.name for c in loose.cases if not c.passed]
    assert loose.notes and "loosened" in loose.notes[0]
    # float32 cannot hold 1e-15 relative agreement: sin(2), exp(0.5), ... must all fail
    tight = verify(None, dtype="float32", rtol=1e-15, atol=0.0)
    assert not tight.passed
    assert tight.n_failed > len(tight.cases) // 2
    assert not next(c for c in tight.cases if c.name == "exp at u=0.5").passed


def test_torchcheck_gradcheck(side) -> None:
    case = check_expression(
        parse("x**2 * sin(y)"), {"x": 1.5, "y": 0.3}, side, rtol=F64[0], atol=F64[1], gradcheck=True
    )
    assert case.gradcheck is True and case.passed
    kink = check_expression(parse("relu(x)"), {"x": 0.0}, side, rtol=0, atol=0, gradcheck=True)
    assert kink.gradcheck is None and "kink" in kink.gradcheck_note


def test_torchcheck_gradcheck_catches_wrong_torch_backward(monkeypatch, side) -> None:
    torch = side.torch

    class WrongSin(torch.autograd.Function):
        @staticmethod
        def forward(ctx, u):
            ctx.save_for_backward(u)
            return torch.sin(u)

        @staticmethod
        def backward(ctx, g):
            (u,) = ctx.saved_tensors
            return g * 2 * torch.cos(u)

    monkeypatch.setitem(
        OPS, "sin", dataclasses.replace(OPS["sin"], torch=lambda t, u: WrongSin.apply(u))
    )
    case = check_expression(
        parse("sin(x)"), {"x": 0.5}, side, rtol=F64[0], atol=F64[1], gradcheck=True
    )
    assert case.gradcheck is False
    assert not case.passed
    assert math.isclose(case.gradient["x"].torch, 2 * math.cos(0.5))


def test_torchcheck_missing_torch(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError) as err:
        torch_side()
    assert "pip install 'gradcli[torch]'" in err.value.one_line()
    assert err.value.exit_code == 2


def test_torchcheck_cuda_unavailable(monkeypatch, side) -> None:
    monkeypatch.setattr(side.torch.cuda, "is_available", lambda: False)
    with pytest.raises(MissingDependencyError) as err:
        torch_side("float64", "cuda")
    assert "cuda" in err.value.message and err.value.hint
