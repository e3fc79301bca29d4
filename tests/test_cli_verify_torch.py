"""``gradcli verify-torch`` through the CLI: exit codes, tables, stderr one-liners, JSON schema."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest

from gradcli.ops import OPS
from gradcli.torchcheck import DEFAULT_TOLERANCES

QUANTITY_KEYS = {"gradcli", "torch", "abs_diff"}
CASE_KEYS = {"name", "expression", "point", "passed", "value", "gradient", "passed_by_atol"}


def _check_schema(data: dict) -> None:
    base = {"passed", "dtype", "device", "rtol", "atol", "cases"}
    assert base <= set(data) <= base | {"jacobian"}
    assert isinstance(data["passed"], bool)
    assert data["dtype"] in ("float32", "float64") and data["device"] in ("cpu", "cuda")
    assert isinstance(data["rtol"], float) and isinstance(data["atol"], float)
    for case in data["cases"]:
        extra = {"gradcheck", "known_difference", "hessian", "gradgradcheck"}
        assert CASE_KEYS <= set(case) <= CASE_KEYS | extra
        assert isinstance(case["name"], str) and isinstance(case["expression"], str)
        assert set(case["passed_by_atol"]) <= {"value", *case["point"], *case.get("hessian", {})}
        assert all(isinstance(v, float) for v in case["point"].values())
        assert set(case["value"]) == {"gradcli", "torch"}
        assert set(case["gradient"]) == set(case["point"])
        for q in case["gradient"].values():
            assert set(q) == QUANTITY_KEYS
            assert all(isinstance(v, float) for v in q.values())


def test_cli_verify_torch_suite_passes(cli) -> None:
    r = cli("verify-torch")
    assert r.code == 0, r.stdout + r.stderr
    data = cli("verify-torch", "--json").json()
    _check_schema(data)
    n = len(data["cases"])
    assert data["passed"] is True and n > len(OPS) * 2
    assert r.stdout.rstrip().splitlines()[-1] == f"{n} passed, 0 failed"
    assert "relu at u=0" in r.stdout and "abs at u=0" in r.stdout
    assert r.stderr == ""


def test_cli_verify_torch_expression_table_and_json(cli) -> None:
    args = ("verify-torch", "x**2 * sin(y)", "--at", "x=1.5", "--at", "y=0.3")
    r = cli(*args)
    assert r.code == 0, r.stderr
    # hand-derived: f = x^2 sin y, df/dx = 2 x sin y, df/dy = x^2 cos y
    x, y = 1.5, 0.3
    expected = {"x": 2 * x * math.sin(y), "y": x * x * math.cos(y)}
    data = cli(*args, "--json").json()
    _check_schema(data)
    (case,) = data["cases"]
    assert case["point"] == {"x": 1.5, "y": 0.3}
    assert math.isclose(case["value"]["torch"], x * x * math.sin(y), rel_tol=1e-14)
    for name, want in expected.items():
        assert math.isclose(case["gradient"][name]["torch"], want, rel_tol=1e-14)
        assert math.isclose(case["gradient"][name]["gradcli"], want, rel_tol=1e-14)
    for word in ("gradcli", "torch", "abs diff", "rel diff", "∂/∂x", "∂/∂y", "value"):
        assert word in r.stdout
    assert r.stdout.count(" ok") >= 3
    assert "1 passed, 0 failed" in r.stdout


def test_cli_verify_torch_wrong_derivative_exits_1(cli, monkeypatch) -> None:
    wrong = dataclasses.replace(OPS["tanh"], partials=lambda out, u: (1.0 + out * out,))
    monkeypatch.setitem(OPS, "tanh", wrong)
    r = cli("verify-torch")
    assert r.code == 1
    assert "FAIL" in r.stdout and "FAILED tanh at u=0.5: tanh(u)" in r.stdout
    # the detail table names the partial with both numbers: tanh'(0.5) = 1 - tanh(0.5)^2
    assert repr(1 - math.tanh(0.5) ** 2) in r.stdout
    assert repr(1 + math.tanh(0.5) ** 2) in r.stdout
    # tanh'(0) = 1 either way: that case still passes
    data = cli("verify-torch", "--json").json()
    verdicts = {c["name"]: c["passed"] for c in data["cases"]}
    assert data["passed"] is False
    assert verdicts["tanh at u=0"] is True and verdicts["tanh at u=0.5"] is False
    # exactly the tanh cases away from 0 fail (the mutation touches nothing else)
    failed = [name for name, ok in verdicts.items() if not ok]
    assert failed and all(n.startswith("tanh at u=") and n != "tanh at u=0" for n in failed)
    assert r.stdout.rstrip().splitlines()[-1].endswith(f"{len(failed)} failed")
    one = cli("verify-torch", "tanh(x)", "--at", "x=2")
    assert one.code == 1 and "FAIL" in one.stdout and "0 passed, 1 failed" in one.stdout


def test_cli_verify_torch_float32(cli) -> None:
    r = cli("verify-torch", "--dtype", "float32")
    assert r.code == 0, r.stdout
    assert "float32 on cpu" in r.stdout and "loosened" in r.stdout
    data = cli("verify-torch", "--dtype", "float32", "--json").json()
    assert (data["rtol"], data["atol"]) == DEFAULT_TOLERANCES["float32"]
    assert data["dtype"] == "float32"
    # float32 keeps ~7 digits: explicit tolerances win, and 1e-15 cannot hold
    tight = cli("verify-torch", "--dtype", "float32", "--rtol", "1e-15", "--atol", "0")
    assert tight.code == 1 and "FAIL" in tight.stdout
    assert "loosened" not in tight.stdout


def test_cli_verify_torch_missing_torch(cli, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    r = cli("verify-torch", "x**2", "--at", "x=3")
    assert r.code == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "pip install 'gradcli[torch]'" in r.stderr


def test_cli_verify_torch_cuda_unavailable(cli, monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    r = cli("verify-torch", "--device", "cuda")
    assert r.code == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "CUDA" in r.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("verify-torch", "--at", "x=1"), "without an expression"),
        (("verify-torch", "log(x)", "--at", "x=-1"), "log"),
        (("verify-torch", "x +", "--at", "x=1"), "ends too early"),
        (("verify-torch", "x", "--at", "x=1", "--rtol", "-1"), "--rtol"),
        (("verify-torch", "x", "--at", "x=1", "--dtype", "float16"), "--dtype"),
        (("verify-torch", "x", "--at", "x=1", "--rtol", "1e999"), "--rtol"),
        (("verify-torch", "x", "--at", "x=1", "--rtol", "inf"), "--rtol"),
        (("verify-torch", "x", "--at", "x=1", "--atol", "inf"), "--atol"),
        (("verify-torch", "x", "--at", "x=1", "--atol", "nan"), "--atol"),
        (("verify-torch", "--rtol", "inf"), "--rtol"),
    ],
    ids=[
        "at-without-expr",
        "domain",
        "parse",
        "negative-rtol",
        "dtype",
        "overflowing-rtol",
        "inf-rtol",
        "inf-atol",
        "nan-atol",
        "inf-rtol-suite",
    ],
)
def test_cli_verify_torch_bad_input_exits_2(cli, args, needle) -> None:
    r = cli(*args)
    assert r.code == 2 and r.stdout == ""
    assert needle in r.stderr.splitlines()[0] and "Traceback" not in r.stderr


def test_cli_verify_torch_stdin_and_leading_minus(cli) -> None:
    r = cli("verify-torch", "-", "--at", "a=2", "--json", stdin="-a**3 + exp(a)")
    assert r.code == 0, r.stderr
    g = r.json()["cases"][0]["gradient"]["a"]["torch"]
    assert math.isclose(g, -3 * 4 + math.exp(2), rel_tol=1e-14)
    assert cli("verify-torch", "-a**3", "--at", "a=2").code == 0


def test_cli_verify_torch_gradcheck(cli) -> None:
    r = cli("verify-torch", "--gradcheck", "--json")
    assert r.code == 0
    verdicts = {c["name"]: c["gradcheck"] for c in r.json()["cases"]}
    assert verdicts["relu at u=0"] is None  # a kink: finite differences do not apply
    assert verdicts["micrograd test_more_ops"] is True
    text = cli("verify-torch", "sin(x)", "--at", "x=1", "--gradcheck")
    assert "gradcheck" in text.stdout and "passed" in text.stdout


def test_cli_verify_torch_help_documents_defaults(cli) -> None:
    r = cli("verify-torch", "--help")
    assert r.code == 0
    assert "gradcli verify-torch" in r.stdout and "Examples" in r.stdout
    assert "1e-10" in r.stdout and "1e-12" in r.stdout
    out = " ".join(r.stdout.split())
    assert "pip install 'gradcli[torch]'" in out  # brackets are text, not markup
    assert "[default: 1e-10; 1e-05 with --dtype float32]" in out


def test_cli_verify_torch_registration_does_not_import_torch() -> None:
    code = "import sys, gradcli.commands; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- second order and several outputs ------------------------------------------------------------


def test_cli_verify_torch_hessian_matches_hand_values_and_torch(cli) -> None:
    # f = x**2*y + sin(y): H = [[2y, 2x], [2x, -sin(y)]]
    r = cli("verify-torch", "x**2*y + sin(y)", "--at", "x=1.5,y=0.5", "--hessian", "--json")
    assert r.code == 0, r.stdout + r.stderr
    data = r.json()
    _check_schema(data)
    h = data["cases"][0]["hessian"]
    assert set(h) == {"∂²/∂x²", "∂²/∂x∂y", "∂²/∂y²"}
    want = {"∂²/∂x²": 1.0, "∂²/∂x∂y": 3.0, "∂²/∂y²": -math.sin(0.5)}
    for label, value in want.items():
        assert math.isclose(h[label]["gradcli"], value, rel_tol=1e-15)
        assert math.isclose(h[label]["torch"], value, rel_tol=1e-15)
    text = cli("verify-torch", "x**2*y + sin(y)", "--at", "x=1.5,y=0.5", "--hessian")
    assert "∂²/∂x∂y" in text.stdout and "autograd.functional.hessian" in text.stdout


def test_cli_verify_torch_hessian_catches_a_wrong_second_derivative(cli, monkeypatch) -> None:
    # mutation: sin's Value-level rule (used only for second order) says sin instead of cos;
    # first-order verify still passes, --hessian fails on exactly the sin cases
    wrong = dataclasses.replace(OPS["sin"], vpartials=lambda out, u: (u.sin(),))
    monkeypatch.setitem(OPS, "sin", wrong)
    assert cli("verify-torch", "sin(x)*y", "--at", "x=0.7,y=2").code == 0
    r = cli("verify-torch", "sin(x)*y", "--at", "x=0.7,y=2", "--hessian")
    assert r.code == 1 and "FAIL" in r.stdout
    suite = cli("verify-torch", "--hessian", "--json").json()
    failed = [c["name"] for c in suite["cases"] if not c["passed"]]
    assert failed and all(n.startswith("sin ") or "exercise" in n for n in failed), failed


def test_cli_verify_torch_hessian_suite_and_gradgradcheck(cli) -> None:
    r = cli("verify-torch", "--hessian", "--gradcheck", "--json")
    assert r.code == 0, [c["name"] for c in r.json()["cases"] if not c["passed"]]
    cases = {c["name"]: c for c in r.json()["cases"]}
    assert cases["micrograd test_more_ops"]["gradgradcheck"] is True
    assert cases["relu at u=0"]["gradgradcheck"] is None  # a kink
    assert cases["elu at u=0"]["gradgradcheck"] is None  # the second derivative jumps there
    # elu''(0): gradcli takes PyTorch's side (0), not the negative side's exp(0) = 1
    assert cases["elu at u=0"]["hessian"]["∂²/∂u²"]["gradcli"] == 0.0
    one = cli("verify-torch", "tanh(x*y)", "--at", "x=0.5,y=2", "--hessian", "--gradcheck")
    assert one.code == 0 and "gradgradcheck passed" in one.stdout


def test_cli_verify_torch_several_outputs_check_the_jacobian(cli, monkeypatch) -> None:
    r = cli("verify-torch", "x*y; x + z**2", "--at", "x=1,y=2,z=3", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    _check_schema(data)
    assert [c["name"] for c in data["cases"]] == ["output 1", "output 2"]
    jac = data["jacobian"]
    assert jac["variables"] == ["x", "y", "z"]
    assert jac["gradcli"] == [[2.0, 1.0, 0.0], [1.0, 0.0, 6.0]] == jac["torch"]
    text = cli("verify-torch", "x*y; x + z**2", "--at", "x=1,y=2,z=3")
    assert "row 2 of the Jacobian" in text.stdout and "2 passed, 0 failed" in text.stdout
    # a wrong rule in one output's op fails that row only
    wrong = dataclasses.replace(OPS["mul"], partials=lambda out, u, v: (v, u + 1.0))
    monkeypatch.setitem(OPS, "mul", wrong)
    bad = cli("verify-torch", "x*y; x + z**2", "--at", "x=1,y=2,z=3", "--json").json()
    assert [c["passed"] for c in bad["cases"]] == [False, True]
    assert cli("verify-torch", "x*y; x", "--at", "x=1").code == 2  # y is missing


def test_cli_verify_torch_says_when_a_case_passes_only_through_atol(cli):
    pytest.importorskip("torch")
    import mpmath as mp

    # gelu's far tail: gradcli's value is right (mpmath below), torch's is 0.0; they agree only
    # because the difference (~1e-196) is below atol, not rtol*|torch|
    r = cli("verify-torch", "gelu(x)", "--at", "x=-30", "--json")
    assert r.code == 0
    case = r.json()["cases"][0]
    assert case["passed"] and case["passed_by_atol"] == ["value", "x"]
    exact = -30 * mp.ncdf(-30)
    assert case["value"]["gradcli"] == pytest.approx(float(exact), rel=1e-12)
    assert case["value"]["torch"] == 0.0
    text = cli("verify-torch", "gelu(x)", "--at", "x=-30").stdout
    assert "ok (atol)" in text and "passes only through atol=1e-12" in text
    # an ordinary case passes through rtol and says nothing of atol
    r = cli("verify-torch", "gelu(x)", "--at", "x=0.5", "--json")
    assert r.json()["cases"][0]["passed_by_atol"] == []
    assert "ok (atol)" not in cli("verify-torch", "gelu(x)", "--at", "x=0.5").stdout
