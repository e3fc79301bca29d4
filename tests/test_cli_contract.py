"""What every command shares: the --json error object, help for each command, and a start-up
that imports only what the command being run needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gradcli.cli import COMMANDS

#: one bad input per command, each its own kind of mistake
BAD_INPUT = {
    "grad": ["grad", "x**", "--at", "x=1"],
    "hessian": ["hessian", "log(x)", "--at", "x=-1"],
    "compare": ["compare", "x", "--at", "y=1"],
    "verify-torch": ["verify-torch", "x +* 2", "--at", "x=1"],
    "softmax": ["softmax", "1", "abc"],
    "graph": ["graph", "sinn(x)", "--at", "x=1"],
    "explain": ["explain", "x", "--at", "x=nope"],
    "ops": ["ops", "nosuch"],
    "check": ["check", "/no/such/file.py"],
    "exercises": ["exercises", "old"],
    "grade": ["grade", "/no/such/folder"],
}


def test_cli_contract_covers_every_command():
    assert set(BAD_INPUT) == {c.name for c in COMMANDS}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_cli_contract_json_error_is_one_object_on_stdout(cli, name):
    plain = cli(*BAD_INPUT[name])
    assert plain.code == 2 and plain.stdout == ""
    first = plain.stderr.splitlines()[0]
    assert first.startswith("gradcli: error: ")

    r = cli(*BAD_INPUT[name], "--json")
    assert r.code == 2
    assert r.stdout.count("\n") == 1  # one line: one object
    obj = json.loads(r.stdout)
    assert set(obj) == {"error", "hint", "exit_code"}
    assert obj["exit_code"] == 2
    assert isinstance(obj["error"], str) and obj["error"]
    assert obj["hint"] is None or isinstance(obj["hint"], str)
    # the same error as without --json, on stderr as always
    assert r.stderr == plain.stderr
    joined = obj["error"] + (f"; {obj['hint']}" if obj["hint"] else "")
    assert first == f"gradcli: error: {joined}"


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_cli_contract_usage_errors_follow_it_too(cli, name):
    r = cli(name, "--no-such-option", "--json")
    assert r.code == 2
    obj = r.json()
    assert set(obj) == {"error", "hint", "exit_code"} and obj["exit_code"] == 2
    assert r.stderr.startswith("gradcli: error: ")


def test_cli_contract_json_after_double_dash_is_an_argument(cli):
    # after "--" everything is an argument: "--json" is not the option, so no JSON is written
    r = cli("grad", "--", "--json")
    assert r.code == 2 and r.stdout == ""


def test_cli_contract_mode_choices_in_plain_words(cli):
    r = cli("grad", "x", "--at", "x=1", "--mode", "sideways")
    assert r.code == 2
    assert r.stderr == (
        "gradcli: error: --mode sideways: choose reverse or forward; see 'gradcli grad --help'\n"
    )


def test_cli_contract_root_help_lists_every_command_with_its_summary(cli):
    r = cli("--help")
    assert r.code == 0
    for c in COMMANDS:
        assert any(
            line.split() == [c.name, *c.summary.split()] for line in r.stdout.splitlines()
        ), c.name
        assert len(c.summary) <= 80 - 2 - 14 - 2, c.name  # one line at 80 columns


@pytest.mark.parametrize("spec", COMMANDS, ids=[c.name for c in COMMANDS])
def test_cli_contract_each_command_has_help_with_examples(cli, spec):
    r = cli(spec.name, "--help")
    assert r.code == 0
    assert r.stdout.startswith(f"Usage: gradcli {spec.name} ")
    assert "Examples:" in r.stdout
    assert f"gradcli {spec.name}" in r.stdout.split("Examples:", 1)[1]


def test_cli_contract_mistyped_command_suggests_the_nearest(cli):
    r = cli("gard")
    assert r.code == 2 and "Did you mean 'grad'?" in r.stderr


def _modules_after(code: str) -> set[str]:
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1")
    p = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert p.returncode == 0, p.stderr
    return set(p.stdout.strip().splitlines()[-1].split())


HEAVY = {"sympy", "numpy", "torch", "mpmath", "matplotlib"}


def test_cli_start_up_imports_no_command_and_nothing_heavy():
    mods = _modules_after("import gradcli.cli")
    assert not HEAVY & mods
    assert not {m for m in mods if m.startswith("gradcli.commands")}
    assert not {"gradcli.engine", "gradcli.ops", "gradcli.parse", "gradcli.learner"} & mods


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["grad", "--help"], "gradcli.commands.grad"),
        (["ops"], "gradcli.commands.ops"),
        (["--help"], None),
        (["--version"], None),
    ],
)
def test_cli_start_up_imports_only_the_command_that_runs(argv, module):
    mods = _modules_after(f"from gradcli.cli import main\nmain({argv!r})")
    loaded = {
        m for m in mods if m.startswith("gradcli.commands.") and m != "gradcli.commands.common"
    }
    assert loaded == ({module} if module else set())
    assert not {"torch", "numpy", "matplotlib"} & mods


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["softmax", "--target", "x", "1", "2"], "--target x: give a whole number, e.g. 3"),
        (
            ["compare", "x", "--at", "x=1", "--steps=abc"],
            "--steps abc: give a whole number, e.g. 3",
        ),
        (["compare", "x", "--at", "x=1", "--h", "abc"], "--h abc: give a number, e.g. 1e-6"),
        (
            ["verify-torch", "x", "--at", "x=1", "--dtype", "f16"],
            "--dtype f16: choose float64 or float32",
        ),
    ],
)
def test_cli_contract_bad_option_values_in_plain_words(cli, args, line):
    r = cli(*args)
    assert r.code == 2
    assert r.stderr == f"gradcli: error: {line}; see 'gradcli {args[0]} --help'\n"


def test_cli_start_up_converts_options_without_pydantic():
    # typer converts parameters through pydantic, ~90 ms to import; gradcli's types need none
    mods = _modules_after(
        "from gradcli.cli import main\n"
        "main(['compare', 'x', '--at', 'x=1', '--method', 'central', '--h', '1e-3', '--json'])"
    )
    assert "pydantic" not in mods


def test_cli_options_still_convert_to_their_types(cli):
    r = cli("compare", "x**2", "--at", "x=1", "--method", "central", "--h", "1e-3", "--json")
    assert r.code == 0
    assert r.json()["methods"]["central"]["steps"]["x"] == pytest.approx(1e-3)
    r = cli("softmax", "0", "3", "-2", "1", "--target", "2", "--json")
    assert r.code == 0 and r.json()["target"] == 2
    r = cli("grad", "x*y", "--at", "x=1", "--at", "y=2", "--mode", "forward", "--json")
    assert r.json()["mode"] == "forward" and r.json()["gradient"] == {"x": 2.0, "y": 1.0}
