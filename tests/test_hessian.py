"""``gradcli hessian``: reverse over reverse against sympy at 50 digits and torch in float64,
finite differences of the gradient, eigenvalues and what they say, the CLI and its JSON."""

from __future__ import annotations

import dataclasses
import math

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli import ops
from gradcli.hessian import classify, hessian_report, max_rel_error
from gradcli.parse import parse

CASES = [
    ("-a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5", {"a": 2.0, "b": 3.0, "c": 4.0}),
    ("(1-x)**2 + 100*(y-x**2)**2", {"x": -1.2, "y": 1.0}),
    ("x*exp(-x**2-y**2)", {"x": 0.5, "y": -0.3}),
    ("tanh(x*y) + sigmoid(x - y)*log(x)", {"x": 1.3, "y": 0.7}),
    ("x**y + sqrt(x*x + y)", {"x": 1.3, "y": 0.7}),
    ("logsumexp(x, 2*y, z) - z", {"x": 0.1, "y": -0.4, "z": 1.5}),
    ("softplus(x)*gelu(y) + atan2(y, x)", {"x": 0.8, "y": -0.6}),
]


def _sympy_hessian(text: str, point: dict[str, float]) -> list[list[float]]:
    """An independent reference: sympy parses the same text (with the names it knows) and
    differentiates twice; evaluated at 50 digits."""
    names = list(point)
    syms = {n: sp.Symbol(n, real=True) for n in names}
    local = {
        **syms,
        "sigmoid": lambda u: 1 / (1 + sp.exp(-u)),
        "softplus": lambda u: sp.log(1 + sp.exp(u)),
        "gelu": lambda u: u * (1 + sp.erf(u / sp.sqrt(2))) / 2,
        "logsumexp": lambda *us: sp.log(sum(sp.exp(u) for u in us)),
    }
    expr = sp.sympify(text, locals=local)  # test-only: our own literal strings
    subs = {syms[n]: sp.Float(v, 60) for n, v in point.items()}
    return [
        [float(sp.diff(expr, syms[a], syms[b]).evalf(50, subs=subs)) for b in names] for a in names
    ]


@pytest.mark.parametrize(("text", "point"), CASES, ids=[c[0][:24] for c in CASES])
def test_hessian_reverse_over_reverse_matches_sympy(text, point):
    r = hessian_report(parse(text), point)
    ref = _sympy_hessian(text, point)
    for row, ref_row in zip(r.hessian, ref, strict=True):
        assert row == pytest.approx(ref_row, rel=1e-12, abs=1e-13)
    # the report's own exact column agrees with the independent one, and its error is honest
    assert r.exact is not None
    for row, ref_row in zip(r.exact, ref, strict=True):
        assert row == pytest.approx(ref_row, rel=1e-14, abs=1e-15)
    assert r.max_rel_error is not None and r.max_rel_error < 1e-12
    # finite differences of the gradient: second order, so about eps^(2/3) ~ 1e-10
    assert r.fd.against == "exact"
    assert r.fd.max_rel_error is not None and r.fd.max_rel_error < 1e-6
    for row, ref_row in zip(r.fd.hessian, ref, strict=True):
        assert row == pytest.approx(ref_row, rel=1e-6, abs=1e-7)
    assert r.passes == len(point)


@pytest.mark.parametrize(("text", "point"), CASES, ids=[c[0][:24] for c in CASES])
def test_hessian_matches_torch_autograd_functional_hessian(text, point):
    torch = pytest.importorskip("torch")
    from gradcli.torchcheck import torch_graph, torch_side

    expression = parse(text)
    side = torch_side("float64")
    names = expression.variables

    def f(*xs):
        return torch_graph(expression, dict(zip(names, xs, strict=True)), side)

    inputs = tuple(torch.tensor(point[n], dtype=torch.float64) for n in names)
    theirs = torch.autograd.functional.hessian(f, inputs)
    r = hessian_report(expression, point, symbolic=False)
    for i in range(len(names)):
        for j in range(len(names)):
            assert r.hessian[i][j] == pytest.approx(float(theirs[i][j]), rel=1e-12, abs=1e-13)


def test_hessian_definiteness_and_stationary_points():
    cases = [
        ("x**2 + y**2", {"x": 0.0, "y": 0.0}, "positive definite", True, "minimum"),
        ("-(x**2) - 3*y**2", {"x": 0.0, "y": 0.0}, "negative definite", True, "maximum"),
        ("x**2 - y**2", {"x": 0.0, "y": 0.0}, "indefinite", True, "saddle"),
        ("x**4 + y**2", {"x": 0.0, "y": 0.0}, "positive semidefinite", True, "higher"),
        ("-(x**4) - y**2", {"x": 0.0, "y": 0.0}, "negative semidefinite", True, "higher"),
        ("(x + y)**2", {"x": 1.0, "y": 2.0}, "positive semidefinite", False, "not a stat"),
        ("3*x - 2*y", {"x": 1.0, "y": 2.0}, "zero", False, "no curvature"),
        ("(1-x)**2 + 100*(y-x**2)**2", {"x": 1.0, "y": 1.0}, "positive definite", True, "minimum"),
        ("sin(x)", {"x": math.pi / 2}, "negative definite", True, "maximum"),  # cos = 6e-17
        ("sin(x)", {"x": 0.0}, "zero", False, "not a stat"),
    ]
    for text, point, definiteness, stationary, words in cases:
        r = hessian_report(parse(text), point)
        assert (r.definiteness, r.stationary) == (definiteness, stationary), text
        assert words in r.meaning, (text, r.meaning)


def test_hessian_eigenvalues_against_mpmath():
    text, point = "x*exp(-x**2-y**2) + x*y", {"x": 0.5, "y": -0.3}
    r = hessian_report(parse(text), point)
    ref = _sympy_hessian(text, point)
    with mp.workdps(40):
        exact = sorted(mp.eigsy(mp.matrix(ref), eigvals_only=True))
    assert r.eigenvalues == pytest.approx([float(x) for x in exact], rel=1e-12)
    assert r.eigenvalues == sorted(r.eigenvalues)


def test_hessian_classify_counts_round_off_as_zero():
    assert classify([1.0, 1e-17]) == "positive semidefinite"
    assert classify([1.0, 1e-12]) == "positive definite"
    assert classify([-1.0, -1e-12]) == "negative definite"
    assert classify([-1.0, 1e-17]) == "negative semidefinite"
    assert classify([-1.0, 1e-12]) == "indefinite"
    assert classify([0.0, 0.0]) == "zero"
    assert classify([]) == "none"


def test_hessian_says_when_50_digits_decide_what_round_off_cannot():
    # H = [[-y/x**2, 1/x], [1/x, 0]] at x = 1e-9: det < 0, so indefinite; in floats the small
    # eigenvalue (0.5) is 2.5e-19 of the largest and counts as 0
    r = hessian_report(parse("log(x)*y"), {"x": 1e-9, "y": 2.0})
    assert r.definiteness == "negative semidefinite"
    assert any("is indefinite" in n and "0.5" in n for n in r.notes), r.notes


def test_hessian_finite_differences_go_one_sided_at_a_domain_edge():
    # sqrt(x - 1) just above 1: the central stencil's x - h leaves the domain
    r = hessian_report(parse("sqrt(x - 1)*y"), {"x": 1.0 + 1e-6, "y": 2.0})
    assert r.fd.one_sided == ["x"]
    assert all(v is not None for row in r.fd.hessian for v in row)  # an estimate, not a NaN
    assert r.fd.hessian[1][1] == 0.0
    # a step 6x the distance to the singularity: the estimate is poor, and its error says so
    assert r.fd.max_rel_error is not None and 1e-3 < r.fd.max_rel_error < 10
    assert any("one-sided" in n for n in r.notes)


def test_hessian_mutation_a_wrong_second_derivative_rule_is_caught(monkeypatch):
    # plant a wrong vpartial for tanh (its first derivative as floats stays right): the report's
    # error against sympy must show it, and finite differences must disagree with reverse mode
    good = hessian_report(parse("tanh(x)*y"), {"x": 0.7, "y": 1.5})
    assert good.max_rel_error < 1e-12
    wrong = dataclasses.replace(ops.OPS["tanh"], vpartials=lambda out, u: (1 - out,))
    monkeypatch.setitem(ops.OPS, "tanh", wrong)
    bad = hessian_report(parse("tanh(x)*y"), {"x": 0.7, "y": 1.5})
    # finite differences run on the float backward pass, which the planted rule does not touch
    assert bad.fd.hessian == good.fd.hessian
    assert bad.max_rel_error > 0.1
    assert max_rel_error(bad.hessian, bad.fd.hessian) > 0.1


def test_hessian_of_a_kink_says_so():
    r = hessian_report(parse("relu(x)*y + x"), {"x": 0.0, "y": 1.0})
    assert any("kink" in n for n in r.notes)


def test_hessian_large_n_skips_sympy_and_compares_fd_with_reverse_mode():
    n = 14
    text = " + ".join(f"x{i}*x{i + 1}**2" for i in range(n - 1))
    r = hessian_report(parse(text), {f"x{i}": 0.5 + 0.1 * i for i in range(n)})
    assert r.exact is None and r.symbolic is None
    assert r.fd.against == "reverse mode"
    assert r.fd.max_rel_error < 1e-6
    assert any("--symbolic" in n for n in r.notes)
    # exact by hand: d2/dx_i dx_{i+1} of x_i*x_{i+1}**2 is 2*x_{i+1}
    assert r.hessian[0][1] == pytest.approx(2 * 0.6, rel=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    x=st.floats(0.2, 3.0),
    y=st.floats(-2.0, 2.0),
    k=st.integers(0, 3),
)
def test_hessian_property_symmetric_and_matches_sympy(x, y, k):
    texts = [
        "sin(x*y) + x**3*y",
        "exp(x - y)*log(x) + y**2",
        "tanh(x + 2*y)*sqrt(x)",
        "x**y + cos(y)/x",
    ]
    text = texts[k]
    point = {"x": x, "y": y}
    r = hessian_report(parse(text), point)
    ref = _sympy_hessian(text, point)
    assert r.hessian[0][1] == pytest.approx(r.hessian[1][0], rel=1e-12, abs=1e-12)
    scale = max(1.0, max(abs(v) for row in ref for v in row))
    for row, ref_row in zip(r.hessian, ref, strict=True):
        for a, b in zip(row, ref_row, strict=True):
            assert abs(a - b) <= 1e-11 * scale


# ---- the command ---------------------------------------------------------------------------------

SCHEMA = {
    "expression": str,
    "point": dict,
    "variables": list,
    "value": float,
    "gradient": list,
    "hessian": list,
    "symbolic": list,
    "exact": list,
    "fd": dict,
    "eigenvalues": list,
    "definiteness": str,
    "stationary": bool,
}


def test_cli_hessian_json_schema(cli):
    r = cli("hessian", "x**2*y + y**3", "--at", "x=1,y=-1", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    for key, kind in SCHEMA.items():
        assert isinstance(data[key], kind), key
    assert data["variables"] == ["x", "y"]
    # by hand: H = [[2y, 2x], [2x, 6y]] at (1, -1)
    assert data["hessian"] == [[-2.0, 2.0], [2.0, -6.0]]
    assert data["symbolic"] == [["2*y", "2*x"], ["2*x", "6*y"]]
    assert data["gradient"] == [-2.0, 4.0]
    assert set(data["fd"]) >= {"method", "hessian", "max_rel_error"}
    assert data["definiteness"] == "negative definite"
    assert data["stationary"] is False


def test_cli_hessian_builtin_example(cli):
    r = cli("hessian")
    assert r.code == 0, r.stderr
    assert "built-in example" in r.stdout
    assert "indefinite" in r.stdout
    assert "-11.91161165235168" in r.stdout  # 0.25/a**1.5 - 6a at a = 2, by hand: -11.9116...
    data = cli("hessian", "--json").json()
    assert data["hessian"][2][2] == pytest.approx(-2 / 4**3, rel=1e-15)  # -2/c**3


def test_cli_hessian_text_shows_the_three_ways_and_the_verdict(cli):
    r = cli("hessian", "x**2 - y**2", "--at", "x=0,y=0")
    assert r.code == 0
    for words in ("reverse over reverse", "sympy", "finite diff", "eigenvalues", "saddle"):
        assert words in r.stdout, words


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["log(x)", "--at", "x=-1"], "log"),
        (["x;y", "--at", "x=1,y=2"], "one expression"),
        (["x**2", "--at", "y=1"], "does not use"),
        (["sqrt(x)", "--at", "x=0"], "infinite"),
        (["x**2", "--at", "x=abc"], "not a number"),
        (["x**2", "--frobnicate"], "no such option"),
    ],
)
def test_cli_hessian_bad_input_is_one_line_exit_2(cli, args, words):
    r = cli("hessian", *args)
    assert r.code == 2, r.stdout + r.stderr
    assert words in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") <= 3


def test_cli_hessian_kink_and_no_variables(cli):
    r = cli("hessian", "abs(x)*y", "--at", "x=0,y=1", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    assert data["exact"][0][0] is None  # sympy's 2*y*DiracDelta(x): undefined at the kink
    assert any("kink" in n for n in data["notes"])
    none = cli("hessian", "2 + 3", "--json").json()
    assert none["variables"] == [] and none["definiteness"] == "none"


def test_cli_hessian_help_has_an_example(cli):
    r = cli("hessian", "--help")
    assert r.code == 0
    assert "gradcli hessian" in r.stdout and "--at" in r.stdout


def test_cli_hessian_shows_negative_zero_as_zero(cli):
    # d/dx (1-x)**2 + 100*(y-x**2)**2 at (1, 1) is -2*(1-x) - 400*x*(y-x**2) = -0.0 in floats
    r = cli("hessian", "(1-x)**2 + 100*(y-x**2)**2", "--at", "x=1,y=1")
    assert r.code == 0
    assert "∂f/∂x = 0.0, ∂f/∂y = 0.0" in r.stdout
    assert "-0.0" not in r.stdout


def test_cli_hessian_wrapped_lines_stay_under_their_label(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    r = cli("hessian")
    assert r.code == 0
    lines = r.stdout.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("so "))
    value_column = lines[i].index("not a stationary")
    assert lines[i + 1].startswith(" " * value_column) and lines[i + 1].strip()
    j = next(k for k, line in enumerate(lines) if "finite-difference steps" in line)
    assert lines[j + 1].startswith(" " * lines[j].index("a: "))
    # nothing after the first header wraps to column 0 (only labels start there)
    labels = ("eigenvalues", "the Hessian is", "so", "errors", "symbolic", "each entry", "Hessian")
    tail = lines[lines.index(next(x for x in lines if x.startswith("errors"))) :]
    assert all(not x or x.startswith(" ") or x.startswith(labels) for x in tail), tail


def test_cli_hessian_says_the_cost_up_front_when_large(cli, monkeypatch):
    import gradcli.commands.hessian as cmd

    assert cli("hessian").stderr == ""  # the example is small: nothing said
    monkeypatch.setattr(cmd, "LARGE_WORK", 100)
    text = " + ".join(f"x{i}*x{i + 1}" for i in range(20))
    at = ",".join(f"x{i}=0.5" for i in range(21))
    r = cli("hessian", text, "--at", at)
    assert r.code == 0
    assert r.stderr.startswith("gradcli: the Hessian of 21 variables over ")
    assert "21 backward passes" in r.stderr and "42 gradient evaluations" in r.stderr


def test_cli_hessian_progress_shows_only_on_a_terminal_after_a_delay(monkeypatch):
    import io
    import sys

    import gradcli.commands.hessian as cmd

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    class Bar:
        def __init__(self) -> None:
            self.events: list[tuple] = []
            bars.append(self)

        def start(self) -> None:
            self.events.append(("start",))

        def add_task(self, what: str, total: int) -> str:
            self.events.append(("task", what, total))
            return what

        def update(self, task: str, completed: int) -> None:
            self.events.append(("update", task, completed))

        def stop(self) -> None:
            self.events.append(("stop",))

    monkeypatch.setattr(cmd, "_bar", Bar)
    for after, tty, shown in [(0.0, True, True), (3600.0, True, False), (0.0, False, False)]:
        bars: list[Bar] = []
        monkeypatch.setattr(sys, "stderr", Tty() if tty else io.StringIO())
        monkeypatch.setattr(cmd, "PROGRESS_AFTER", after)
        with cmd._late_progress() as progress:
            if progress is not None:
                for i in range(3):
                    progress("rows", i, 3)
        assert bool(bars) == shown, (after, tty)
        if shown:
            assert bars[0].events == [
                ("start",),
                ("task", "rows", 3),
                ("update", "rows", 0),
                ("update", "rows", 1),
                ("update", "rows", 2),
                ("stop",),
            ]


def test_hessian_report_reports_progress_for_every_row_and_column():
    calls = []
    r = hessian_report(
        parse("x*y*z"), {"x": 1.0, "y": 2.0, "z": 3.0}, progress=lambda *a: calls.append(a)
    )
    assert [c[1] for c in calls if c[0].startswith("Hessian rows")] == [0, 1, 2]
    assert [c[1] for c in calls if c[0].startswith("finite")] == [0, 1, 2]
    assert r.hessian[0][1] == 3.0  # d2(xyz)/dxdy = z
