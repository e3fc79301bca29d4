"""Golden outputs of compare, softmax, verify-torch and hessian on their built-in examples (grad,
graph and explain have theirs beside their tests), at 100 columns without colour. A change to
any table shows here as a diff to read. After an intended change, regenerate with
``GRADCLI_UPDATE_GOLDENS=1 pytest tests/test_goldens.py`` and read the diff before committing.

Each golden also has its key numbers checked against hand-derived values, so a golden cannot
freeze a wrong number unnoticed."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import mpmath as mp
import pytest

GOLDENS = Path(__file__).parent / "goldens"

CASES = {
    "compare": ("compare",),
    "softmax": ("softmax",),
    "verify_torch": ("verify-torch", "x**y + relu(x - y)", "--at", "x=2,y=0.5"),
    "hessian": ("hessian",),
}

# by hand, for the exercise at a=2, b=3, c=4
DF_DA = -3 * 2.0**2 - 0.5 / math.sqrt(2.0)
DF_DB = 3 * math.cos(9.0) + 2.5 * 3.0**1.5
D2F_DA2 = 0.25 / 2.0**1.5 - 6 * 2.0
D2F_DB2 = -9 * math.sin(9.0) + 3.75 * math.sqrt(3.0)


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"


@pytest.mark.parametrize("name", list(CASES))
def test_golden(cli, name):
    torch_needed = name == "verify_torch" or name == "softmax"
    if torch_needed:
        pytest.importorskip("torch")
    r = cli(*CASES[name])
    assert r.code == 0, r.stderr
    out = _lines(r.stdout)
    path = GOLDENS / f"{name}.txt"
    if os.environ.get("GRADCLI_UPDATE_GOLDENS"):
        path.write_text(out, encoding="utf-8")
    _assert_same_output(out, path.read_text(encoding="utf-8"))


_NUMBER = re.compile(r"^[-+]?(\d+\.\d*|\.\d+)(e[-+]?\d+)?$")


def _assert_same_output(out: str, golden: str) -> None:
    """Equal, or equal but for round-off in the last digits of finite differences.

    numpy picks its sin and pow kernels by CPU (AVX2 or AVX-512), which moves a round-off-limited
    central difference by ~1e-11 relative: a golden made on one machine must hold on another. So
    every word must match, and every number must match to 1e-8 relative, or, for errors at the
    round-off level (below 1e-6), to within a factor of 2."""
    if out == golden:
        return
    got_lines, want_lines = out.splitlines(), golden.splitlines()
    assert len(got_lines) == len(want_lines), out
    for got_line, want_line in zip(got_lines, want_lines, strict=True):
        got, want = got_line.split(), want_line.split()
        assert len(got) == len(want), (got_line, want_line)
        for g, w in zip(got, want, strict=True):
            if g == w:
                continue
            assert _NUMBER.match(g) and _NUMBER.match(w), (got_line, want_line)
            a, b = float(g), float(w)
            small = max(abs(a), abs(b)) < 1e-6
            ok = abs(a - b) <= 1e-8 * max(abs(a), abs(b)) or (small and 0.5 <= a / b <= 2)
            assert ok, (got_line, want_line)


def test_golden_comparison_allows_only_round_off():
    golden = "  central   1.8e-05   10.256990272545567   1.43e-09   1.40e-10   9\n"
    _assert_same_output(golden.replace("272545567", "272496676").replace("1.40", "1.35"), golden)
    for wrong in [
        golden.replace("10.256990272545567", "10.256991272545567"),  # a wrong estimate
        golden.replace("1.43e-09", "1.43e-07"),  # an error 100 times larger
        golden.replace("  9\n", "  8\n"),  # another count
        golden.replace("central", "centra1"),  # another word
    ]:
        assert wrong != golden
        with pytest.raises(AssertionError):
            _assert_same_output(wrong, golden)


def test_golden_numbers_are_the_hand_derived_ones():
    compare = (GOLDENS / "compare.txt").read_text(encoding="utf-8")
    assert repr(DF_DA) in compare or f"{DF_DA:.15g}" in compare
    hessian = (GOLDENS / "hessian.txt").read_text(encoding="utf-8")
    assert repr(D2F_DA2) in hessian and "-0.03125" in hessian  # d2f/dc2 = -2/c**3
    assert f"{D2F_DB2:.12g}"[:12] in hessian
    assert "indefinite" in hessian
    softmax = (GOLDENS / "softmax.txt").read_text(encoding="utf-8")
    # the example's logits 0, 3, -2, 1 with target 3: loss = logsumexp - 1
    loss = mp.log(sum(mp.exp(x) for x in (0, 3, -2, 1))) - 1
    shown = float(softmax.split("loss", 1)[1].split()[0])
    assert abs(shown - float(loss)) <= 1e-15 * float(loss)  # a few ulps of rounding
    verify = (GOLDENS / "verify_torch.txt").read_text(encoding="utf-8")
    # d/dx (x**y + relu(x - y)) = y*x**(y-1) + 1 at x=2, y=0.5
    assert repr(0.5 * 2.0**-0.5 + 1) in verify
    assert "1 passed, 0 failed" in verify
