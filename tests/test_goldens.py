"""Golden outputs of compare, softmax, verify-torch and hessian on their built-in examples (grad,
graph and explain have theirs beside their tests), at 100 columns without colour. A change to
any table shows here as a diff to read. After an intended change, regenerate with
``GRADCLI_UPDATE_GOLDENS=1 pytest tests/test_goldens.py`` and read the diff before committing.

Each golden also has its key numbers checked against hand-derived values, so a golden cannot
freeze a wrong number unnoticed."""

from __future__ import annotations

import math
import os
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
    assert out == path.read_text(encoding="utf-8")


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
