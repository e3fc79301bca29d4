"""Every function of the op table works in every expression command (issue 12: one row is
enough), at a smooth sample point of its domain, and its numbers agree across the commands."""

from __future__ import annotations

import pytest

from gradcli.ops import OPS, Op

FUNCS = [op for op in OPS.values() if op.function]


def _expression(op: Op) -> tuple[str, str]:
    sample = next(s for s in op.samples if op.kink is None or op.kink(*s) is None)
    k = len(sample) - len(op.params)
    names = ["x", "y", "z", "w"][:k]
    args = [f"{n}" for n in names] + [repr(p) for p in sample[k:]]
    at = ",".join(f"{n}={v!r}" for n, v in zip(names, sample[:k]))
    return f"{op.spelling}({', '.join(args)}) + x", at


@pytest.mark.parametrize("op", FUNCS, ids=[op.name for op in FUNCS])
def test_cli_every_function_in_every_command(cli, op: Op):
    text, at = _expression(op)
    grad = cli("grad", text, "--at", at, "--json")
    assert grad.code == 0, grad.stderr
    gradient = grad.json()["gradient"]
    compare = cli("compare", text, "--at", at, "--json")
    assert compare.code == 0, compare.stderr
    data = compare.json()
    for name, g in gradient.items():
        assert data["reference"][name] == pytest.approx(g, rel=1e-12, abs=1e-14)
    if op.analytic:  # complex step applies, and is exact to rounding
        cs = data["methods"]["complex_step"]["estimate"]
        for name, g in gradient.items():
            assert cs[name] == pytest.approx(g, rel=1e-12, abs=1e-14)
    hess = cli("hessian", text, "--at", at, "--json")
    assert hess.code == 0, hess.stderr
    h = hess.json()
    assert h["gradient"] == pytest.approx([gradient[n] for n in h["variables"]], rel=1e-12)
    if h["max_rel_error"] is not None:  # reverse over reverse against sympy's Hessian
        assert h["max_rel_error"] < 1e-9, h
    assert h["fd"]["max_rel_error"] is not None and h["fd"]["max_rel_error"] < 1e-4, h
    for command in ("graph", "explain"):
        r = cli(command, text, "--at", at, "--json")
        assert r.code == 0, (command, r.stderr)
    explain = cli("explain", text, "--at", at, "--json").json()
    assert explain["gradient"] == pytest.approx(gradient, rel=1e-15)
    v = cli("verify-torch", text, "--at", at, "--json")
    assert v.code == 0, v.stdout + v.stderr
