"""`gradcli graph` and `gradcli explain`: golden outputs, JSON schema, files, large graphs.

The numbers in the golden texts were checked by hand against mpmath at 50 digits: the value
-a**3 + sin(3b) - 1/c + b**2.5 - a**0.5 = 6.33636 at (2, 3, 4); d/da = -3a^2 - 0.5/sqrt(a) =
-12.3536, d/db = 3cos(9) + 2.5*b**1.5 = 10.257, d/dc = 1/c^2 = 0.0625; cos(9) = -0.91113,
3cos(9) = -2.73339, 0.5/sqrt(2) = 0.353553, 2.5*3**1.5 = 12.9904, sin(9) = 0.412118.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

GOLDEN_GRAPH = """\
expression  -a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5
            (built-in example: the classic micrograd exercise f(a, b, c) at a=2, b=3, c=4)
point       a = 2.0, b = 3.0, c = 4.0
value       6.336362190988558
nodes       16 (3 variables, 2 constants, 11 operations)
computation graph

  node                                            op            value       grad
 ────────────────────────────────────────────────────────────────────────────────
  n15  -a**3 + sin(3*b) - 1.0/c + b**2.5 - a...   sub         6.33636          1
  ├─ n13  -a**3 + sin(3*b) - 1.0/c + b**2.5       add         7.75058          1
  │  ├─ n11  -a**3 + sin(3*b) - 1.0/c             sub        -7.83788          1
  │  │  ├─ n8  -a**3 + sin(3*b)                   add        -7.58788          1
  │  │  │  ├─ n4  -a**3                           neg              -8          1
  │  │  │  │  └─ n3  a**3                         pow               8         -1
  │  │  │  │     └─ n0  a                         variable          2   -12.3536
  │  │  │  └─ n7  sin(3*b)                        sin        0.412118          1
  │  │  │     └─ n6  3*b                          mul               9   -0.91113
  │  │  │        ├─ n5  3                         constant          3   -2.73339
  │  │  │        └─ n1  b                         variable          3     10.257
  │  │  └─ n10  1.0/c                             div            0.25         -1
  │  │     ├─ n9  1.0                             constant          1      -0.25
  │  │     └─ n2  c                               variable          4     0.0625
  │  └─ n12  b**2.5                               pow         15.5885          1
  │     └─ n1 b  ↑ shown above
  └─ n14  a**0.5                                  pow         1.41421         -1
     └─ n0 a  ↑ shown above

From the output (top) down to the inputs, as written (nothing simplified). grad = d output / d node.
A node used more than once (a shared variable) is shown once; its later uses say ↑ shown above.
"""

GOLDEN_EXPLAIN = """\
expression  -a**3 + sin(3*b) - 1.0/c + b**2.5 - a**0.5
            (built-in example: the classic micrograd exercise f(a, b, c) at a=2, b=3, c=4)
point       a = 2.0, b = 3.0, c = 4.0
value       6.336362190988558
nodes       16 (3 variables, 2 constants, 11 operations)
backward pass, in the order it runs (output first)

 node upstream input          local derivative                        contribution     accumulated
 ─────────────────────────────────────────────────────────────────────────────────────────────────
 n15         1 n13 -a**3 + s… d(u - v)/du = 1                                    1               1
               n14 a**0.5     d(u - v)/dv = -1                                  -1              -1
 n14        -1 n0 a           d(u**0.5)/du = 0.5*u**(-0.5) = 0.353553    -0.353553 -0.353553 (1/2)
 n13         1 n11 -a**3 + s… d(u + v)/du = 1                                    1               1
               n12 b**2.5     d(u + v)/dv = 1                                    1               1
 n12         1 n1 b           d(u**2.5)/du = 2.5*u**1.5 = 12.9904          12.9904   12.9904 (1/2)
 n11         1 n8 -a**3 + s…  d(u - v)/du = 1                                    1               1
               n10 1.0/c      d(u - v)/dv = -1                                  -1              -1
 n10        -1 n9 1.0         d(u/v)/du = 1/v = 0.25                         -0.25           -0.25
               n2 c           d(u/v)/dv = -u/v**2 = -0.0625                 0.0625          0.0625
 n8          1 n4 -a**3       d(u + v)/du = 1                                    1               1
               n7 sin(3*b)    d(u + v)/dv = 1                                    1               1
 n7          1 n6 3*b         d sin(u)/du = cos(u) = -0.91113             -0.91113        -0.91113
 n6   -0.91113 n5 3           d(u*v)/du = v = 3                           -2.73339        -2.73339
               n1 b           d(u*v)/dv = u = 3                           -2.73339    10.257 (2/2)
 n4          1 n3 a**3        d(-u)/du = -1                                     -1              -1
 n3         -1 n0 a           d(u**3)/du = 3*u**2 = 12                         -12  -12.3536 (2/2)

Each step hands the node's gradient (upstream) to its inputs: contribution = upstream × local
derivative, added to the input's gradient (accumulated). (k/m): the k-th of the m contributions a
node used m times receives.
gradient

  variable   value              gradient   sum of its contributions
 ───────────────────────────────────────────────────────────────────
  a            2.0   -12.353553390593273   -0.353553 + -12
  b            3.0     10.25699027111255   12.9904 + -2.73339
  c            4.0                0.0625   0.0625
"""


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"


BIG = "x" + " - x" * 10_000  # 10,001 nodes, a chain 10,000 deep


# ---- golden outputs -----------------------------------------------------------------------------


def test_cli_graph_builtin_golden(cli):
    r = cli("graph")
    assert r.code == 0 and r.stderr == "", r.stderr
    assert _lines(r.stdout) == GOLDEN_GRAPH


def test_cli_graph_explain_builtin_golden(cli):
    r = cli("explain")
    assert r.code == 0 and r.stderr == "", r.stderr
    assert _lines(r.stdout) == GOLDEN_EXPLAIN


# ---- JSON ---------------------------------------------------------------------------------------


def test_cli_graph_json_schema_and_values(cli):
    r = cli("graph", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    nodes = data["nodes"]
    ids = [n["id"] for n in nodes]
    assert data["output"] == ids[-1] and len(set(ids)) == len(ids) == 16
    for n in nodes:
        assert {"id", "op", "label", "data", "grad", "inputs"} <= set(n)
        assert isinstance(n["data"], float) and isinstance(n["grad"], float)
        assert all(i in ids[: ids.index(n["id"])] for i in n["inputs"])  # inputs come first
    variables = {n["label"]: n for n in nodes if n["kind"] == "var"}
    assert set(variables) == {"a", "b", "c"}
    a, b, c = sp.symbols("a b c", real=True)
    f = -(a**3) + sp.sin(3 * b) - 1 / c + b ** sp.Rational(5, 2) - sp.sqrt(a)
    at = {a: 2, b: 3, c: 4}
    assert nodes[-1]["data"] == pytest.approx(float(f.evalf(50, subs=at)), rel=1e-15)
    for name, sym in (("a", a), ("b", b), ("c", c)):
        exact = float(sp.diff(f, sym).evalf(50, subs=at))
        assert variables[name]["grad"] == pytest.approx(exact, rel=1e-14)


def test_cli_graph_x_times_x_stays_as_written(cli):
    data = cli("graph", "x*x + x*x", "--at", "x=3", "--json").json()
    ops = sorted(n["op"] for n in data["nodes"] if n["inputs"])
    assert ops == ["add", "mul", "mul"]  # not sympy's 2*x**2
    (x,) = [n for n in data["nodes"] if not n["inputs"]]
    assert x["label"] == "x" and x["grad"] == 12.0  # 4x at 3, by hand


def test_cli_graph_explain_json_joins_graph_and_sums_to_the_gradient(cli):
    graph = {n["id"]: n for n in cli("graph", "--json").json()["nodes"]}
    data = cli("explain", "--json").json()
    sums: dict[str, float] = {}
    for step in data["steps"]:
        node = graph[step["node"]]
        assert step["op"] == node["op"] and step["upstream"] == node["grad"]
        assert [i["node"] for i in step["inputs"]] == node["inputs"]
        for inp in step["inputs"]:
            assert {"node", "rule", "local", "contribution", "accumulated"} <= set(inp)
            assert inp["contribution"] == step["upstream"] * inp["local"]
            sums[inp["node"]] = sums.get(inp["node"], 0.0) + inp["contribution"]
            assert inp["accumulated"] == sums[inp["node"]]
    by_label = {graph[i]["label"]: total for i, total in sums.items() if graph[i]["kind"] == "var"}
    assert by_label == data["gradient"]
    # the gradient, by hand
    assert data["gradient"]["a"] == pytest.approx(-12.0 - 0.5 / math.sqrt(2.0), rel=1e-15)
    assert data["gradient"]["b"] == pytest.approx(3 * math.cos(9.0) + 2.5 * 3**1.5, rel=1e-15)
    assert data["gradient"]["c"] == 0.0625
    # reverse topological order: a node's step comes before the steps of all its inputs
    order = [s["node"] for s in data["steps"]]
    for step in data["steps"]:
        for inp in step["inputs"]:
            if inp["node"] in order:
                assert order.index(inp["node"]) > order.index(step["node"])


def test_cli_graph_explain_shows_accumulation_of_a_shared_variable(cli):
    r = cli("explain", "x*x + sin(x)", "--at", "x=2")
    assert r.code == 0, r.stderr
    assert "(1/3)" in r.stdout and "(3/3)" in r.stdout
    total = 4.0 + math.cos(2.0)  # by hand
    assert f"{total:.6g} (3/3)" in r.stdout
    assert "d sin(u)/du = cos(u) = " + f"{math.cos(2.0):.6g}" in r.stdout


# ---- files --------------------------------------------------------------------------------------


def test_cli_graph_dot_file_and_stdout(cli, tmp_path):
    path = tmp_path / "g.dot"
    r = cli("graph", "--dot", str(path))
    assert r.code == 0 and "wrote" in r.stderr and "computation graph" in r.stdout
    text = path.read_text()
    assert text.startswith("digraph") and text.count("shape=ellipse") == 11
    r = cli("graph", "--dot", "-")
    assert r.code == 0 and r.stdout == text  # only the DOT on stdout


def test_cli_graph_svg_without_dot_says_so_and_points_at_dot_option(cli, monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    r = cli("graph", "--svg", str(tmp_path / "g.svg"))
    assert r.code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert "dot" in r.stderr and "--dot FILE" in r.stderr and "not installed" in r.stderr
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_cli_graph_svg_and_png_render_through_dot(cli, tmp_path):
    svg, png = tmp_path / "g.svg", tmp_path / "g.png"
    r = cli("graph", "--svg", str(svg), "--png", str(png))
    assert r.code == 0, r.stderr
    assert "<svg" in svg.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_graph_errors_are_one_line_exit_2(cli, tmp_path):
    cases = [
        ("graph", "log(x)", "--at", "x=-1"),
        ("explain", "x +", "--at", "x=1"),
        ("graph", "--dot", "-", "--json"),
        ("graph", "--dot", str(tmp_path / "missing" / "g.dot")),
        ("graph", "--max-nodes", "-1"),
    ]
    for args in cases:
        r = cli(*args)
        assert r.code == 2, args
        assert r.stderr.startswith("gradcli: error: ") and "Traceback" not in r.stderr, args
        if "--json" in args:  # the error object, as for every command with --json
            assert set(r.json()) == {"error", "hint", "exit_code"}, args
        else:
            assert r.stdout == "", args


def test_cli_graph_svg_refuses_a_huge_graph(cli, tmp_path):
    r = cli("graph", "-", "--at", "x=1", "--svg", str(tmp_path / "g.svg"), stdin=BIG)
    assert r.code == 2 and "--dot FILE" in r.stderr


# ---- large graphs -------------------------------------------------------------------------------


def test_cli_graph_large_graph_is_bounded_but_json_and_dot_are_complete(cli, tmp_path):
    r = cli("graph", "-", "--at", "x=1", stdin=BIG)
    assert r.code == 0, r.stderr
    assert len(r.stdout.splitlines()) < 90 and "--max-nodes" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 100
    r = cli("graph", "-", "--at", "x=1", "--max-nodes", "10", stdin=BIG)
    assert len(r.stdout.splitlines()) < 40
    data = cli("graph", "-", "--at", "x=1", "--json", stdin=BIG).json()
    assert len(data["nodes"]) == 10_001
    # x - x - ... - x with 10,001 x's at x = 1: value 1 - 10,000; d/dx = 1 - 10,000, by hand
    assert data["nodes"][-1]["data"] == -9_999.0 and data["nodes"][0]["grad"] == -9_999.0
    path = tmp_path / "big.dot"
    assert cli("graph", "-", "--at", "x=1", "--dot", str(path), stdin=BIG).code == 0
    assert path.read_text().count("shape=ellipse") == 10_000


def test_cli_graph_explain_large_graph_is_bounded_but_json_is_complete(cli):
    r = cli("explain", "-", "--at", "x=1", stdin=BIG)
    assert r.code == 0, r.stderr
    assert len(r.stdout.splitlines()) < 100 and "--max-nodes" in r.stdout
    data = cli("explain", "-", "--at", "x=1", "--json", stdin=BIG).json()
    assert len(data["steps"]) == 10_000 and data["gradient"] == {"x": -9_999.0}


# ---- help and start-up --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["graph", "explain"])
def test_cli_graph_help_has_a_worked_example(cli, command):
    r = cli(command, "--help")
    assert r.code == 0 and f"gradcli {command}" in r.stdout and "--max-nodes" in r.stdout


def test_cli_graph_start_up_never_imports_torch_or_numpy():
    code = (
        "import sys\n"
        "from gradcli.cli import main\n"
        "assert main(['graph']) == 0 and main(['explain', '--json']) == 0\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1")
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "HEAVY="


# ---- notices, file names and help ---------------------------------------------------------------

SUM_OF_X = "+".join(["x"] * 3000)  # one add node with 3,000 inputs, all the same x: 2 nodes


def test_cli_graph_notice_says_every_node_is_shown_when_only_references_are_left_out(cli):
    r = cli("graph", "-", "--at", "x=1", stdin=SUM_OF_X)
    assert r.code == 0, r.stderr
    out = " ".join(r.stdout.split())
    # by hand: 1 row for the add node + 3,000 rows for its inputs (x once, then 2,999 references)
    assert "showing 60 of 3,001 rows: every node is shown" in out
    assert "the 2,941 rows left out only refer back to nodes shown above" in out
    assert "2 of 2 nodes" not in out


@pytest.mark.parametrize("bound", ["0", "301", "500"])
def test_cli_graph_no_showing_notice_when_nothing_is_left_out(cli, bound):
    # 301 rows (the sum, x in full, 299 references) prove what 3,001 did, ten times faster
    r = cli("graph", "-", "--at", "x=1", "--max-nodes", bound, stdin=" + ".join(["x"] * 300))
    assert r.code == 0, r.stderr
    assert "showing" not in r.stdout
    assert r.stdout.count("n0 x  ↑ shown above") == 299  # every later use of x


def test_cli_graph_notice_counts_nodes_left_out(cli):
    # three products of three shared variables, summed: 7 nodes
    r = cli("graph", "x*y + y*z + z*x", "--at", "x=1,y=2,z=3", "--max-nodes", "3")
    assert r.code == 0, r.stderr
    out = " ".join(r.stdout.split())
    # by hand: the sum, then x*y, then x: 3 of the 7 nodes (x, y, z, three products, the sum);
    # all rows: 1 + 3 products + 6 inputs (x, y, z in full once, then 3 references) = 10
    assert "showing 3 of 10 rows (3 of 7 nodes)" in out


@pytest.mark.parametrize(
    ("flag", "name", "needle"),
    [
        ("--svg", "g.png", "--png"),
        ("--png", "g.svg", "--svg"),
        ("--svg", "g.txt", ".svg"),
        ("--png", "g", ".png"),
    ],
)
def test_cli_graph_image_needs_the_matching_extension(cli, tmp_path, flag, name, needle):
    path = tmp_path / name
    r = cli("graph", flag, str(path))
    assert r.code == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradcli: error: ")
    assert f"must end in .{flag[2:]}" in lines[0] and needle in lines[0]
    assert not path.exists()


def test_cli_graph_explain_help_does_not_offer_dot(cli):
    r = cli("explain", "--help")
    assert r.code == 0
    assert "--dot" not in r.stdout and "--json is always complete" in " ".join(r.stdout.split())
    r = cli("graph", "--help")
    assert "--json and --dot are always complete" in " ".join(r.stdout.split())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_cli_graph_png_of_the_example_is_a_readable_picture(cli, tmp_path):
    import struct

    path = tmp_path / "g.png"
    assert cli("graph", "--png", str(path)).code == 0
    width, height = struct.unpack(">II", path.read_bytes()[16:24])  # the PNG's IHDR
    # left to right with whole labels it was 5526 x 393
    assert width <= 1500 and height <= 2500 and width * 4 >= height / 2, (width, height)
