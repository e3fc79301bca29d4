"""``gradcli softmax`` through the CLI: exit codes, JSON schema, files, errors, the table."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import mpmath
import pytest

CLASSIC = [0.0, 3.0, -2.0, 1.0]
CLASSIC_LOSS = 2.1755153626167147  # log(1 + e**3 + e**-2 + e) - 1, by hand
KEYS = {
    "logits",
    "target",
    "loss",
    "probs",
    "gradient",
    "closed_form",
    "finite_difference",
    "torch",
}


def mp_gradient(xs: list[float], t: int) -> list[float]:
    with mpmath.workdps(60):
        es = [mpmath.exp(mpmath.mpf(x)) for x in xs]
        s = mpmath.fsum(es)
        return [float(e / s - (1 if i == t else 0)) for i, e in enumerate(es)]


def mp_loss(xs: list[float], t: int) -> float:
    with mpmath.workdps(60):
        return float(mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(x)) for x in xs)) - xs[t])


def close(a: list[float], b: list[float], tol: float) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_cli_softmax_builtin_example_json(cli):
    r = cli("softmax", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    assert set(data) == KEYS
    assert data["logits"] == CLASSIC and data["target"] == 3
    assert abs(data["loss"] - CLASSIC_LOSS) < 1e-12
    ref = mp_gradient(CLASSIC, 3)
    for key in ("gradient", "closed_form", "torch"):
        assert close(data[key], ref, 1e-12), key
    assert close(data["finite_difference"], ref, 1e-8)
    assert close([p - (i == 3) for i, p in enumerate(data["probs"])], ref, 1e-12)


def test_cli_softmax_classic_exercise_with_negative_arguments(cli):
    r = cli("softmax", "0", "3", "-2", "1", "--target", "3", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["logits"] == CLASSIC
    assert abs(r.json()["loss"] - CLASSIC_LOSS) < 1e-12


def test_cli_softmax_words_after_double_dash_are_logits(cli):
    r = cli("softmax", "--target", "1", "--json", "--", "-1000", "0", "1000")
    assert r.code == 0, r.stderr
    data = r.json()
    assert data["logits"] == [-1000.0, 0.0, 1000.0]
    assert abs(data["loss"] - 1000.0) < 1e-9
    assert close(data["gradient"], mp_gradient([-1000.0, 0.0, 1000.0], 1), 1e-12)


@pytest.mark.parametrize(
    "xs",
    [[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0], [1e6, 1e6 + 1, -3.0]],
    ids=["large", "very-negative", "1e6-apart-by-1"],
)
def test_cli_softmax_large_logits_are_finite_and_correct(cli, xs):
    r = cli("softmax", "--target", "0", "--json", "--", *map(repr, xs))
    assert r.code == 0, r.stderr
    data = r.json()
    assert abs(data["loss"] - mp_loss(xs, 0)) < 1e-12 * max(1.0, abs(data["loss"]))
    ref = mp_gradient(xs, 0)
    for key in ("gradient", "closed_form", "torch"):
        assert close(data[key], ref, 1e-12), key
    assert close(data["finite_difference"], ref, 1e-8)


def test_cli_softmax_agrees_with_torch_float64(cli):
    import torch

    gen = torch.Generator().manual_seed(3)
    x = (torch.randn(1, 40, generator=gen, dtype=torch.float64) * 10).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(x, torch.tensor([7]))
    loss.backward()
    assert x.grad is not None
    r = cli("softmax", "--target", "7", "--json", "--", *map(repr, x.detach()[0].tolist()))
    assert r.code == 0, r.stderr
    assert abs(r.json()["loss"] - loss.item()) < 1e-12
    assert close(r.json()["gradient"], x.grad[0].tolist(), 1e-12)


def test_cli_softmax_expression_form_matches_the_command(cli):
    g = cli("grad", "logsumexp(a, b, c, d) - d", "--at", "a=0,b=3,c=-2,d=1", "--json")
    s = cli("softmax", "0", "3", "-2", "1", "--target", "3", "--json")
    assert g.code == 0 and s.code == 0, g.stderr + s.stderr
    assert abs(g.json()["value"] - s.json()["loss"]) < 1e-12
    assert close(list(g.json()["gradient"].values()), s.json()["gradient"], 1e-12)
    assert close(s.json()["gradient"], mp_gradient(CLASSIC, 3), 1e-12)


def test_cli_softmax_table_shows_every_column_and_the_verdict(cli):
    r = cli("softmax")
    assert r.code == 0, r.stderr
    for text in ("2.1755153626167143", "reverse", "onehot", "central", "PyTorch", "agree"):
        assert text in r.stdout, text
    assert "…" not in r.stdout  # numbers are never cut at 100 columns
    assert r.stderr == ""


def test_cli_softmax_no_torch_skips_the_column(cli):
    r = cli("softmax", "--no-torch", "--json")
    assert r.code == 0 and r.json()["torch"] is None
    r = cli("softmax", "--no-torch")
    assert r.code == 0 and "skipped (--no-torch)" in r.stdout


def test_cli_softmax_without_torch_says_so(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    r = cli("softmax", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["torch"] is None
    r = cli("softmax")
    assert r.code == 0 and "torch is not installed" in r.stdout


def test_cli_softmax_naive_overflows_where_the_stable_form_does_not(cli):
    r = cli("softmax", "1000", "1001", "1002", "--target", "0", "--naive")
    assert r.code == 0, r.stderr
    assert "NaN" in r.stdout and "overflows" in r.stdout
    data = cli("softmax", "1000", "1001", "1002", "--target", "0", "--naive", "--json").json()
    assert data["naive"] == [None, None, None]
    assert all(math.isfinite(p) for p in data["probs"])
    fine = cli("softmax", "--naive", "--json").json()["naive"]
    assert close(fine, [g + (i == 3) for i, g in enumerate(mp_gradient(CLASSIC, 3))], 1e-15)


def test_cli_softmax_reads_a_file_of_lines(cli, tmp_path: Path):
    f = tmp_path / "logits.txt"
    f.write_text("# the classic exercise\n0\n3\n\n-2\n1\n")
    r = cli("softmax", "--logits-file", str(f), "--target", "3", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["logits"] == CLASSIC
    assert abs(r.json()["loss"] - CLASSIC_LOSS) < 1e-12


def test_cli_softmax_reads_a_json_list_from_stdin(cli):
    r = cli("softmax", "--logits-file", "-", "--target", "3", "--json", stdin="[0, 3, -2, 1]")
    assert r.code == 0, r.stderr
    assert r.json()["logits"] == CLASSIC


def test_cli_softmax_10000_logits_from_a_file(cli, tmp_path: Path):
    import torch

    gen = torch.Generator().manual_seed(11)
    x = (torch.randn(1, 10_000, generator=gen, dtype=torch.float64) * 3).requires_grad_(True)
    torch.nn.functional.cross_entropy(x, torch.tensor([42])).backward()
    assert x.grad is not None
    f = tmp_path / "big.json"
    f.write_text(json.dumps(x.detach()[0].tolist()))
    r = cli("softmax", "--logits-file", str(f), "--target", "42", "--json")
    assert r.code == 0, r.stderr
    ref = x.grad[0].tolist()
    assert close(r.json()["gradient"], ref, 1e-12)
    assert close(r.json()["finite_difference"], ref, 1e-8)
    table = cli("softmax", "--logits-file", str(f), "--target", "42")
    assert table.code == 0 and "showing 30 of 10,000 classes" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("abc", "1", "--target", "0"), "logit 0 is not a number: 'abc'"),
        (("1", "2", "--target", "2"), "--target 2 is out of range"),
        (("--target", "-1", "1", "2"), "--target -1 is out of range"),
        (("1", "nan", "--target", "0"), "every logit must be a finite number"),
        (("--target", "0", "--", "1e400", "1"), "every logit must be a finite number"),
        (("1", "2"), "no target class given"),
        (("--logits-file", "/no/such/file", "--target", "0"), "cannot read the logits file"),
        (("1", "--logits-file", "-", "--target", "0"), "not both"),
        (("--logits-file", "-", "--target", "0"), "holds no numbers"),
        (("--target", "1", "--", "1e308", "-1e308"), "the loss overflows"),
    ],
    ids=[
        "not-a-number",
        "target-too-big",
        "target-negative",
        "nan",
        "overflowing-literal",
        "no-target",
        "missing-file",
        "arguments-and-file",
        "empty-file",
        "loss-overflows",
    ],
)
def test_cli_softmax_bad_input_exits_2_with_one_line(cli, args, message):
    r = cli("softmax", *args, stdin="")
    assert r.code == 2
    assert r.stdout == ""
    assert r.stderr.startswith("gradcli: error: ") and r.stderr.count("\n") == 1
    assert message in r.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[1, "x"]', 'entry 1 is not a number: "x"'),
        ("[1, NaN]", "entry 1 is not finite"),
        ("[1, 2", "is not valid JSON"),
        ("1\nfoo\n", "line 2 is not a number: 'foo'"),
    ],
    ids=["json-string", "json-nan", "bad-json", "bad-line"],
)
def test_cli_softmax_bad_file_exits_2(cli, text, message):
    r = cli("softmax", "--logits-file", "-", "--target", "0", stdin=text)
    assert r.code == 2 and r.stdout == ""
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_cli_softmax_mismatch_exits_1(cli, monkeypatch):
    import gradcli.nn

    real = gradcli.nn.central_difference
    monkeypatch.setattr(
        gradcli.nn, "central_difference", lambda xs, t: [g + 1e-3 for g in real(xs, t)]
    )
    r = cli("softmax")
    assert r.code == 1
    assert "MISMATCH" in r.stdout and "central difference" in r.stdout


def test_cli_softmax_help_has_a_worked_example(cli):
    r = cli("softmax", "--help")
    assert r.code == 0
    assert "gradcli softmax 0 3 -2 1 --target 3" in r.stdout


MAX = 1.7976931348623157e308  # the largest float: no step around it stays finite


@pytest.mark.parametrize(
    ("xs", "t"),
    [
        ([1.7e308, 0.0], 0),
        ([0.0, 1.7e308, 0.0], 0),
        ([1e20, 0.0], 0),
        ([1e300, -1e300], 0),
        ([0.0, 1e20, -5.0], 2),
    ],
    ids=["1.7e308", "1.7e308-middle", "1e20", "1e300-apart", "1e20-not-target"],
)
def test_cli_softmax_huge_logits_central_difference_is_finite(cli, xs, t):
    r = cli("softmax", "--target", str(t), "--json", "--", *map(repr, xs))
    assert r.code == 0, r.stderr
    data = r.json()
    ref = mp_gradient(xs, t)
    assert close(data["gradient"], ref, 1e-12)
    assert None not in data["finite_difference"]
    assert close(data["finite_difference"], ref, 1e-8)
    assert abs(data["loss"] - mp_loss(xs, t)) <= 1e-12 * max(1.0, abs(mp_loss(xs, t)))


def test_cli_softmax_central_difference_na_where_the_step_overflows(cli):
    xs = [MAX, 0.0]
    r = cli("softmax", "--target", "0", "--json", "--", *map(repr, xs))
    assert r.code == 0, r.stderr
    data = r.json()
    ref = mp_gradient(xs, 0)
    assert data["finite_difference"][0] is None  # MAX + 4 ulp is inf: no central difference
    assert abs(data["finite_difference"][1] - ref[1]) < 1e-8
    assert close(data["gradient"], ref, 1e-12) and close(data["closed_form"], ref, 1e-12)
    r = cli("softmax", "--target", "0", "--", *map(repr, xs))
    assert r.code == 0, r.stderr
    assert "n/a" in r.stdout and "agree:" in r.stdout
    assert "central difference n/a for 1 class (0)" in " ".join(r.stdout.split())


def test_cli_softmax_every_central_difference_na_still_agrees(cli):
    r = cli("softmax", "--target", "1", "--", repr(-MAX), repr(MAX))
    assert r.code == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "agree:" in out and "central difference n/a" in out
    data = cli("softmax", "--target", "1", "--json", "--", repr(-MAX), repr(MAX)).json()
    assert data["finite_difference"] == [None, None]
    assert close(data["gradient"], [0.0, 0.0], 0.0)  # p = (0, 1), target 1: p - onehot = 0


def test_cli_softmax_without_torch_names_the_extra(cli, monkeypatch):
    # The install hint is printed through rich: '[torch]' must survive as text, not vanish as
    # a style tag.
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("no torch here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    monkeypatch.delitem(__import__("sys").modules, "torch", raising=False)
    r = cli("softmax", "0", "3", "-2", "1", "--target", "3")
    assert r.code == 0, r.stderr
    assert "pip install 'gradcli[torch]'" in " ".join(r.stdout.split())
