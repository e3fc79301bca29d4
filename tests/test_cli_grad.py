"""`gradcli grad`, `gradcli ops`, and what every command shares: help, errors, stdin, exits."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradcli.cli import COMMANDS
from gradcli.parse import MAX_LENGTH

GOLDEN_GRAD = """\
expression  -a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5
            (built-in example: the classic micrograd exercise f(a, b, c) at a=2, b=3, c=4)
point       a = 2.0, b = 3.0, c = 4.0
value       6.336362190988558
gradient

  variable   value          reverse mode   symbolic derivative (sympy)   symbolic, evaluated
 ────────────────────────────────────────────────────────────────────────────────────────────
  a            2.0   -12.353553390593273   -0.5/a**0.5 - 3*a**2          -12.353553390593273
  b            3.0     10.25699027111255   2.5*b**1.5 + 3*cos(3*b)         10.25699027111255
  c            4.0                0.0625   1.0/c**2                                   0.0625
"""


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"


def test_cli_grad_builtin_golden(cli):
    r = cli("grad")
    assert r.code == 0, r.stderr
    assert _lines(r.stdout) == GOLDEN_GRAD
    # the numbers in the golden text, against the hand derivation
    a, b, c = 2.0, 3.0, 4.0
    assert pytest.approx(-3 * a**2 - 0.5 / math.sqrt(a), rel=1e-15) == -12.353553390593273
    assert pytest.approx(3 * math.cos(3 * b) + 2.5 * b**1.5, rel=1e-15) == 10.25699027111255
    assert 1 / c**2 == 0.0625
    assert (
        pytest.approx(-(a**3) + math.sin(3 * b) - 1 / c + b**2.5 - a**0.5, rel=1e-15)
        == 6.336362190988558
    )


def test_cli_grad_json_schema(cli):
    r = cli("grad", "x**2 * sin(y)", "--at", "x=1.5", "--at", "y=0.3", "--json")
    assert r.code == 0 and r.stderr == ""
    data = r.json()
    assert set(data) == {"expression", "point", "value", "gradient", "symbolic", "mode"}
    assert data["mode"] == "reverse"
    assert data["point"] == {"x": 1.5, "y": 0.3}
    assert data["value"] == pytest.approx(1.5**2 * math.sin(0.3), rel=1e-15)
    assert data["gradient"]["x"] == pytest.approx(2 * 1.5 * math.sin(0.3), rel=1e-15)
    assert data["gradient"]["y"] == pytest.approx(1.5**2 * math.cos(0.3), rel=1e-15)
    assert data["symbolic"] == {"x": "2*x*sin(y)", "y": "x**2*cos(y)"}


def test_cli_grad_expression_starting_with_minus(cli):
    r = cli("grad", "-a**3 + b", "--at", "a=2,b=-1", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["gradient"] == {"a": -12.0, "b": 1.0}
    r = cli("grad", "--at", "x=-2", "-x")  # options first, expression last
    assert r.code == 0, r.stderr
    assert "-1.0" in r.stdout


def test_cli_grad_at_forms_and_constants(cli):
    r = cli("grad", "sin(x)*y", "--at", "x=pi/2,y=-3", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["point"] == {"x": math.pi / 2, "y": -3.0}
    # a comma inside a value's function call does not split the point
    r = cli("grad", "x*y", "--at", "x=logsumexp(0,0),y=1", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["point"] == {"x": math.log(2), "y": 1.0}


def test_cli_short_option_with_attached_value(cli):
    r = cli("softmax", "0", "1", "-t1", "--json", "--no-torch")
    assert r.code == 0, r.stderr
    assert r.json()["target"] == 1
    r = cli("grad", "-t*x", "--at", "t=1,x=2", "--json")  # an expression, not an option
    assert r.code == 0, r.stderr
    assert r.json()["gradient"] == {"t": -2.0, "x": -1.0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grad", "x*y", "--at", "x=1"], "no value given for variable 'y'; add --at y=1"),
        (["grad", "x", "--at", "x=1", "--at", "x=2"], "variable 'x' is given twice"),
        (["grad", "x", "--at", "x=1,q=2"], "variable 'q', which the expression does not use"),
        (["grad", "x", "--at", "x=abc"], "the value is not a number"),
        (["grad", "x", "--at", "x=nan"], "must be a finite number"),
        (["grad", "x", "--at", "x=1e999"], "must be a finite number"),
        (["grad", "x", "--at", "x"], "--at expects name=value"),
        (["grad", "log(x)", "--at", "x=-1"], "log(x) is undefined at this point"),
        (["grad", "sinn(x)", "--at", "x=1"], "unknown function 'sinn'; did you mean 'sin'?"),
        (["grad", "x", "--bogus"], "no such option: --bogus"),
        (["grad", "--at", "q=1"], "built-in example uses a, b and c"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_cli_bad_input_exit_2_one_line(cli, args, message):
    r = cli(*args)
    assert r.code == 2
    assert r.stdout == ""
    first = r.stderr.splitlines()[0]
    assert first.startswith("gradcli: error: ")
    assert message in first
    assert "Traceback" not in r.stderr


def test_cli_parse_error_shows_caret(cli):
    r = cli("grad", "x + sinn(x)", "--at", "x=1")
    assert r.code == 2
    _, excerpt, caret = r.stderr.splitlines()
    assert excerpt.index("sinn") == caret.index("^")


def test_cli_grad_reads_stdin(cli):
    text = "+".join(f"sin({k}*x)/{k}" for k in range(1, 10_001))
    assert len(text) > 128 * 1024  # too long for one command-line argument
    r = cli("grad", "-", "--at", "x=0.5", "--json", stdin=text)
    assert r.code == 0, r.stderr
    data = r.json()
    # sum sin(kx)/k and its derivative sum cos(kx), summed independently with fsum
    assert data["value"] == pytest.approx(
        math.fsum(math.sin(k * 0.5) / k for k in range(1, 10_001)), rel=1e-12
    )
    assert data["gradient"]["x"] == pytest.approx(
        math.fsum(math.cos(k * 0.5) for k in range(1, 10_001)), rel=1e-9
    )
    assert data["symbolic"] == {"x": None}  # skipped for size, said in the table output


def test_cli_stdin_length_limits(cli):
    ok = "+".join(["x"] * 200_000)  # 399,999 characters
    r = cli("grad", "-", "--at", "x=1", "--json", stdin=ok)
    assert r.code == 0, r.stderr
    assert r.json()["gradient"] == {"x": 200_000.0}
    r = cli("grad", "-", "--at", "x=1", stdin="x+" * 500_000 + "x")
    assert r.code == 2
    assert f"limit of {MAX_LENGTH:,}" in r.stderr


INJECTIONS = [
    "__import__('os').system('touch {p}')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('{p}', 'w').write('x')",
    "exec(\"open('{p}','w')\")",
    "eval(\"open('{p}','w')\")",
    "[open('{p}','w') for _ in (1,)]",
    "lambda: open('{p}', 'w')",
    "x if open('{p}','w') else y",
    "sin(x).__globals__",
    "getattr(x, '__class__')",
    "x; import os; os.system('touch {p}')",
    "Symbol('x').evalf(subs={{'a': open('{p}','w')}})",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_cli_injection_attempts_are_refused_and_not_run(cli, tmp_path: Path, payload: str):
    marker = tmp_path / "pwned"
    r = cli("grad", payload.format(p=marker), "--at", "x=1")
    assert r.code == 2
    assert r.stderr.startswith("gradcli: error: ")
    assert not marker.exists()  # nothing was executed


def test_cli_every_command_has_help_with_example(cli):
    names = [c.name for c in COMMANDS]
    assert {"grad", "ops"} <= set(names)
    for name in names:
        r = cli(name, "--help")
        assert r.code == 0, name
        assert "Example" in r.stdout, name


def test_cli_version(cli):
    from gradcli import __version__

    r = cli("--version")
    assert r.code == 0
    assert r.stdout.strip() == f"gradcli {__version__}"


def test_cli_ops_lists_every_op(cli):
    from gradcli.ops import OPS

    r = cli("ops", "--json")
    assert r.code == 0
    rows = r.json()["ops"]
    assert [row["name"] for row in rows] == list(OPS)
    relu = next(row for row in rows if row["name"] == "relu")
    assert "relu'(0) = 0" in relu["notes"]
    r = cli("ops")
    assert r.code == 0
    for name in OPS:
        assert name in r.stdout


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    "argv", [["grad"], ["ops"], ["--help"], ["grad", "--help"], ["grad", "x**2", "--at", "x=3"]]
)
def test_cli_start_up_never_imports_torch_or_numpy(argv):
    code = (
        "import sys\n"
        "from gradcli.cli import main\n"
        f"rc = main({argv!r})\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
        "sys.exit(rc)\n"
    )
    p = _run("-c", code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "HEAVY="


def test_cli_python_dash_m_and_exit_codes():
    p = _run("-m", "gradcli", "grad", "x**2", "--at", "x=3", "--json")
    assert p.returncode == 0 and '"gradient": {"x": 6.0}' in p.stdout
    p = _run("-m", "gradcli", "grad", "x**", "--at", "x=3")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_cli_grad_narrow_terminal_never_cuts_numbers(cli, monkeypatch):
    # At 60 columns the table cannot hold three full-precision numbers side by side: it
    # switches to one block per variable instead of dropping columns or cutting digits.
    monkeypatch.setenv("COLUMNS", "60")
    x, y = -1.2345678901234567e-5, 1e-7
    r = cli("grad", "x/3e7 + y*1e-7/3", "--at", f"x={x!r},y={y!r}")
    assert r.code == 0, r.stderr
    assert "…" not in r.stdout
    assert repr(1 / 3e7) in r.stdout  # d/dx, in full
    assert repr(1e-7 / 3) in r.stdout  # d/dy, in full
    assert "variable" in r.stdout and " x " in r.stdout + " " and " y" in r.stdout
    assert max(len(line.rstrip()) for line in r.stdout.splitlines()) <= 60


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["grda"], None, "see 'gradcli --help'"),
        (["grad", "x", "--at"], None, "option --at needs a value; e.g. --at x=1.5"),
        (["grad", "-", "--at", "x=1"], "x + \udcff", "standard input is not UTF-8 text"),
    ],
)
def test_cli_usage_errors_are_one_clear_line(cli, args, stdin, message):
    r = cli(*args, stdin=stdin)
    assert r.code == 2
    assert len(r.stderr.splitlines()) == 1
    assert message in r.stderr


def test_cli_long_variable_lists_are_shortened(cli):
    text = "+".join(f"x{i}" for i in range(2000))
    r = cli("grad", "-", stdin=text)
    assert r.code == 2
    assert "and 1,994 more" in r.stderr
    assert len(r.stderr) < 300


def test_cli_grad_several_outputs_give_the_jacobian_both_modes(cli):
    # x*y; x + y**2; atan2(y, x) at (1, 2), against sympy's Jacobian at 50 digits
    import sympy as sp

    x, y = sp.symbols("x y", real=True)
    outs = [x * y, x + y**2, sp.atan2(y, x)]
    want = [[float(sp.diff(o, v).subs({x: 1, y: 2}).evalf(50)) for v in (x, y)] for o in outs]
    for mode, passes in (("reverse", 3), ("forward", 2)):
        r = cli("grad", "x*y; x + y**2; atan2(y, x)", "--at", "x=1,y=2", "--mode", mode, "--json")
        assert r.code == 0, r.stderr
        data = r.json()
        assert set(data) >= {"expression", "point", "variables", "value", "jacobian", "mode"}
        assert data["expression"] == ["x*y", "x + y**2", "atan2(y, x)"]
        assert data["variables"] == ["x", "y"] and data["mode"] == mode
        assert data["passes"] == passes
        assert data["value"] == pytest.approx([2.0, 5.0, math.atan2(2, 1)], rel=1e-15)
        for got, exact in zip(data["jacobian"], want):
            assert got == pytest.approx(exact, rel=1e-15)
    r = cli("grad", "x*y; x + y**2", "--at", "x=1,y=2")
    assert r.code == 0
    assert "Jacobian" in r.stdout and "2 backward passes, one per output" in r.stdout


def test_cli_grad_forward_mode_says_how_many_passes(cli):
    r = cli("grad", "x*y*z", "--at", "x=1,y=2,z=3", "--mode", "forward", "--json")
    assert r.json()["gradient"] == {"x": 6.0, "y": 3.0, "z": 2.0}
    r = cli("grad", "x*y*z", "--at", "x=1,y=2,z=3", "--mode", "forward")
    assert "forward mode: 3 passes, one per input (reverse mode would take 1" in r.stdout
    r = cli("grad", "x", "--at", "x=1", "--mode", "sideways")
    assert r.code == 2 and "sideways" in r.stderr


def test_cli_grad_warns_on_a_pole(cli):
    r = cli("grad", "tan(x)", "--at", "x=pi/2")
    assert r.code == 0
    assert "sits next to a pole" in " ".join(r.stdout.split())
    assert "pole" not in cli("grad", "tan(x)", "--at", "x=1").stdout


def test_cli_grad_several_outputs_errors_point_into_the_whole_text(cli):
    r = cli("grad", "x*y; x + sinn(y)", "--at", "x=1,y=2")
    assert r.code == 2 and "unknown function 'sinn'" in r.stderr
    _, excerpt, caret = r.stderr.splitlines()
    assert excerpt.index("sinn") == caret.index("^")
    r = cli("grad", "x; y", "--at", "x=1")
    assert r.code == 2 and "no value given for variable 'y'" in r.stderr


def test_cli_ops_fits_a_narrow_terminal(cli, monkeypatch):
    from gradcli.ops import OPS

    monkeypatch.setenv("COLUMNS", "80")
    r = cli("ops")
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    # one line for most ops: the long notes live in 'gradcli ops NAME'
    assert len(lines) <= len(OPS) + 30
    assert "gradcli ops NAME" in r.stdout


def test_cli_ops_name_shows_one_op_in_full(cli):
    r = cli("ops", "relu")
    assert r.code == 0
    assert "relu'(0) = 0" in r.stdout and "PyTorch" in r.stdout
    assert "log" in cli("ops", "ln").stdout.split()[1]  # an alias finds its op
    assert cli("ops", "**").stdout.split()[1] == "pow"
    data = cli("ops", "softplus", "--json").json()
    assert data["torch_differs"] is True and "threshold" in data["details"]
    r = cli("ops", "sofplus")
    assert r.code == 2 and "did you mean 'softplus'" in r.stderr


def test_cli_ops_json_lists_every_field(cli):
    from gradcli.ops import OPS

    rows = cli("ops", "--json").json()["ops"]
    assert [row["name"] for row in rows] == list(OPS)
    for row in rows:
        op = OPS[row["name"]]
        assert row["aliases"] == list(op.aliases) and row["params"] == list(op.params)
        assert row["samples"] == [list(s) for s in op.samples]
        assert row["kinks"] == (op.kink is not None)


def test_cli_grad_the_expressions_error_comes_before_the_points(cli):
    r = cli("grad", "α*β", "--at", "α=1,β=2")
    assert r.code == 2
    assert r.stderr.startswith("gradcli: error: unexpected character 'α'")


def test_cli_grad_at_splits_non_ascii_names_like_ascii_ones():
    from gradcli.commands.common import parse_point

    assert parse_point(["α=1,β=2"]) == {"α": 1.0, "β": 2.0}


def test_cli_grad_log_base_error_shows_the_base(cli):
    r = cli("grad", "log(x, 1)", "--at", "x=2")
    assert r.code == 2
    assert "must be positive and not 1, and it is 1 (here x = 2)" in r.stderr
    r = cli("grad", "log(x, b)", "--at", "x=2,b=-0.5")
    assert "and it is -0.5 (here x = 2, b = -0.5)" in r.stderr
