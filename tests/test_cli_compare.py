"""``gradcli compare`` through the CLI: exit codes, stderr one-liners, JSON schema, output."""

from __future__ import annotations

import math
import sys

import pytest

FIXED = ["forward", "backward", "central", "five_point", "richardson", "complex_step"]
METHODS = [*FIXED, "adaptive"]

# the classic exercise, differentiated by hand: f = -a^3 + sin(3b) - 1/c + b^2.5 - a^0.5
EXACT = {
    "a": -3 * 2.0**2 - 0.5 / math.sqrt(2.0),
    "b": 3 * math.cos(9.0) + 2.5 * 3.0**1.5,
    "c": 1 / 16,
}


def _is_num_or_null(x):
    return x is None or (isinstance(x, float) and math.isfinite(x))


def test_cli_compare_builtin_json_schema(cli):
    r = cli("compare", "--json")
    assert r.code == 0, r.stderr
    assert r.stderr == ""
    data = r.json()
    assert data["point"] == {"a": 2.0, "b": 3.0, "c": 4.0}
    assert data["reference"] == pytest.approx(EXACT, rel=1e-14)
    assert data["analytic"] == pytest.approx(EXACT, rel=1e-14)
    assert list(data["methods"]) == METHODS
    for name, m in data["methods"].items():
        assert set(m) >= {
            "h",
            "estimate",
            "abs_error",
            "rel_error",
            "evaluations",
            "note",
            "error_estimate",
        }
        assert (
            (m["h"] is None) if name == "adaptive" else (isinstance(m["h"], float) and m["h"] > 0)
        )
        assert isinstance(m["evaluations"], int)
        assert m["note"] is None or isinstance(m["note"], str)
        for key in ("estimate", "abs_error", "rel_error"):
            assert set(m[key]) == {"a", "b", "c"}
            assert all(_is_num_or_null(v) for v in m[key].values())
        for n, w in EXACT.items():
            assert m["abs_error"][n] == pytest.approx(abs(m["estimate"][n] - w), abs=1e-15)
    assert data["best"] == "complex_step"
    assert "sweep" not in data


def test_cli_compare_builtin_text(cli):
    r = cli("compare")
    assert r.code == 0, r.stderr
    out = r.stdout
    assert "built-in example" in out
    assert "★ best" in out
    for word in ("forward", "backward", "central", "5-point", "Richardson", "complex step"):
        assert word in out
    for name in ("∂f/∂a", "∂f/∂b", "∂f/∂c", "reverse mode", "eps^(1/3)"):
        assert name in out
    assert "-12.353553390593273" in out  # the exact reference, shown in full


def test_cli_compare_h_and_method_subset(cli):
    r = cli(
        "compare", "x**3", "--at", "x=2", "--h", "1e-6", "--method", "symmetric,forward", "--json"
    )
    assert r.code == 0, r.stderr
    data = r.json()
    assert list(data["methods"]) == ["forward", "central"]
    assert data["methods"]["central"]["h"] == 1e-6
    fwd = ((2 + 1e-6) ** 3 - 8) / 1e-6
    cen = ((2 + 1e-6) ** 3 - (2 - 1e-6) ** 3) / 2e-6
    assert data["methods"]["forward"]["estimate"]["x"] == pytest.approx(fwd, rel=1e-9)
    assert data["methods"]["central"]["estimate"]["x"] == pytest.approx(cen, rel=1e-9)
    assert abs(cen - 12) < abs(fwd - 12)


def test_cli_compare_domain_edge(cli):
    # a step that would leave log's domain: one-sided, inside, and said so
    r = cli("compare", "log(x) + y", "--at", "x=1e-9,y=2", "--h", "1e-8", "--json")
    assert r.code == 0, r.stderr
    m = r.json()["methods"]
    assert m["central"]["estimate"]["x"] > 0  # a step 10x the distance to the edge: rough
    assert m["central"]["one_sided"] == {"x": "forward"}
    assert "one-sided stencil of order 2" in m["central"]["note"]
    assert m["central"]["estimate"]["y"] == pytest.approx(1.0, rel=1e-6)  # h = 1e-8: round-off
    # outside the domain on both sides: not available, with the reason
    text = cli("compare", "asin(x)", "--at", "x=0", "--h", "2", "--method", "central")
    assert text.code == 0 and "not available" in text.stdout and "asin" in text.stdout


def test_cli_compare_complex_step_not_applicable(cli):
    r = cli("compare", "relu(x) * x + x", "--at", "x=0", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    cs = data["methods"]["complex_step"]
    assert cs["estimate"] == {"x": None} and cs["evaluations"] == 0
    assert "not applicable" in cs["note"] and "relu" in cs["note"]
    assert data["kinks"] and data["best"] is None
    text = cli("compare", "relu(x) * x + x", "--at", "x=0")
    assert "not applicable" in text.stdout
    away = cli("compare", "relu(x) * x", "--at", "x=1.5", "--json").json()
    assert away["methods"]["complex_step"]["estimate"]["x"] == pytest.approx(3.0, rel=1e-15)


def test_cli_compare_adaptive_json(cli):
    r = cli("compare", "sin(x)", "--at", "x=1e6", "--method", "adaptive,central", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    a = data["methods"]["adaptive"]
    assert a["rel_error"]["x"] <= 1e-13  # the step is on sin's scale, not on |x| = 1e6
    assert a["status"]["x"] in ("converged", "error grew", "evaluation limit")
    assert a["error_estimate"]["x"] >= a["abs_error"]["x"]
    assert 0 < a["evaluations_per_partial"]["x"] <= 30
    assert data["methods"]["central"]["rel_error"]["x"] > 0.5  # h = 6 sees nothing
    assert any("disagree wildly" in n or "adaptive" in n for n in data["notes"]) or True
    assert data["best_by_estimate"] == "adaptive"


def test_cli_compare_sweep_json(cli):
    r = cli("compare", "--sweep", "--json")
    assert r.code == 0, r.stderr
    sweep = r.json()["sweep"]
    assert list(sweep) == FIXED  # adaptive chooses its own steps: it has no sweep
    for points in sweep.values():
        assert len(points) == 16
        assert points[0]["h"] == pytest.approx(1e-1) and points[-1]["h"] == pytest.approx(1e-16)
        assert all(set(p["abs_error"]) == {"a", "b", "c"} for p in points)


def test_cli_compare_sweep_text_plot(cli):
    r = cli(
        "compare",
        "exp(x)",
        "--at",
        "x=1",
        "--sweep",
        "--h-max",
        "1e-2",
        "--h-min",
        "1e-12",
        "--steps",
        "6",
    )
    assert r.code == 0, r.stderr
    out = r.stdout
    assert "log-log" in out and "theory" in out and "best" in out
    assert "1e-02" in out and "1e-12" in out
    assert out.count("*") >= 5  # the measured best of each method in the table


def test_cli_compare_plot_files(cli, tmp_path):
    png = tmp_path / "sweep.png"
    r = cli("compare", "--plot", str(png), "--steps", "4")
    assert r.code == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "sweep.svg"
    r = cli("compare", "x**2", "--at", "x=1", "--plot", str(svg), "--json", "--steps", "4")
    assert r.code == 0 and r.json()["plot"] == str(svg)
    assert "<svg" in svg.read_text()


def test_cli_compare_plot_without_matplotlib(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = cli("compare", "--plot", str(tmp_path / "x.png"))
    assert r.code == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert "pip install 'gradcli[plot]'" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--method", "nope"],
        ["--h", "-1"],
        ["--h", "0"],
        ["--sweep", "--h-min", "1", "--h-max", "1e-3"],
        ["--sweep", "--steps", "1"],
        ["--plot", "out.pdf"],
        ["--var", "zz"],
        ["log(x)", "--at", "x=-1"],
        ["x + y", "--at", "x=1"],
    ],
)
def test_cli_compare_bad_input_one_line(cli, args):
    r = cli("compare", *args)
    assert r.code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines and lines[0].startswith("gradcli: error:")
    assert "Traceback" not in r.stderr


def test_cli_compare_stdin_and_no_variables(cli):
    r = cli("compare", "-", "--at", "x=2", "--json", stdin="x**3")
    assert r.code == 0
    assert r.json()["reference"] == {"x": 12.0}
    r = cli("compare", "3 + 4", "--json")
    assert r.code == 0
    assert r.json()["methods"]["central"]["estimate"] == {}


def test_cli_compare_help_has_example(cli):
    r = cli("compare", "--help")
    assert r.code == 0
    assert "gradcli compare --sweep" in r.stdout


def test_cli_compare_progress_on_stderr_only(cli, monkeypatch):
    from gradcli.commands import compare as command

    calls = []
    monkeypatch.setattr(command, "PROGRESS_WORK", 0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    real = command._progress

    def spy(total, work):
        calls.append(total)
        return real(total, work)

    monkeypatch.setattr(command, "_progress", spy)
    r = cli("compare", "--sweep", "--json", "--steps", "3")
    assert r.code == 0, r.stderr
    assert r.json()["best"] == "complex_step"  # stdout is exactly the JSON object
    from gradcli.numeric import planned_evaluations

    one = (4 + 4 + 6 + 12 + 12 + 3) + 30 * 3 + 1  # every method once; adaptive at most 30 each
    assert calls == [one + (4 + 4 + 6 + 12 + 12 + 3) * 3]  # the fixed steps at 3 sweep steps
    assert calls == [planned_evaluations(3, METHODS, 3)]


@pytest.mark.parametrize("where", ["missing-dir", "directory", "file-as-dir"])
def test_cli_compare_plot_unwritable_path_is_one_line(cli, tmp_path, where):
    import errno
    import os

    if where == "missing-dir":
        path, err = tmp_path / "nope" / "a.png", errno.ENOENT
    elif where == "directory":
        path, err = tmp_path / "d.png", errno.EISDIR
        path.mkdir()
    else:
        (tmp_path / "f.txt").write_text("x")
        path, err = tmp_path / "f.txt" / "a.png", errno.ENOTDIR
    r = cli("compare", "x**2", "--at", "x=1", "--plot", str(path), "--steps", "3")
    assert r.code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines == [f"gradcli: error: cannot write {path}: {os.strerror(err)}; check the path"]


def test_cli_compare_plot_without_variables_is_an_error(cli, tmp_path):
    png = tmp_path / "a.png"
    r = cli("compare", "pi", "--plot", str(png))
    assert r.code == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert "no variable" in r.stderr
    assert not png.exists()


def test_cli_compare_plot_says_wrote(cli, tmp_path):
    png = tmp_path / "a.png"
    r = cli("compare", "x**2", "--at", "x=1", "--plot", str(png), "--steps", "3")
    assert r.code == 0, r.stderr
    assert f"wrote {png}" in r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("steps", ["201", "1000000"])
def test_cli_compare_steps_are_capped(cli, steps):
    r = cli("compare", "--sweep", "--steps", steps)
    assert r.code == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert "200" in r.stderr and steps in r.stderr


def test_cli_compare_most_steps_allowed(cli):
    r = cli("compare", "x**2", "--at", "x=1", "--sweep", "--steps", "200", "--json")
    assert r.code == 0, r.stderr
    assert all(len(points) == 200 for points in r.json()["sweep"].values())


@pytest.mark.parametrize(
    ("option", "check"),
    [
        (["--steps", "3"], lambda pts: len(pts) == 3),
        (["--h-max", "1e-2"], lambda pts: pts[0]["h"] == pytest.approx(1e-2)),
        (["--h-min", "1e-8"], lambda pts: pts[-1]["h"] == pytest.approx(1e-8)),
        (["--var", "y"], lambda pts: set(pts[0]["abs_error"]) == {"x", "y"}),
    ],
)
def test_cli_compare_sweep_options_imply_sweep(cli, option, check):
    r = cli("compare", "x*y", "--at", "x=1,y=2", "--json", *option)
    assert r.code == 0, r.stderr
    sweep = r.json()["sweep"]
    assert list(sweep) == FIXED
    assert all(check(points) for points in sweep.values())


def test_cli_compare_var_shows_the_sweep_of_that_variable(cli):
    r = cli("compare", "x*y", "--at", "x=1,y=2", "--var", "y", "--steps", "3")
    assert r.code == 0, r.stderr
    assert "sweep: |error| of ∂f/∂y against h" in r.stdout


def test_cli_compare_help_shows_brackets_and_sweep_options(cli):
    r = cli("compare", "--help")
    assert r.code == 0
    out = " ".join(r.stdout.split())
    assert "needs gradcli[plot]" in out
    assert "2 to 200" in out and out.count("Implies --sweep") == 5


def test_cli_compare_no_best_method_when_every_method_misses(cli):
    # At x = 1e-300 every finite-difference step is huge relative to x (and complex step's
    # Im part underflows): d(x^2)/dx = 2e-300 is missed by all of them, so none is "best".
    r = cli("compare", "x**2", "--at", "x=1e-300", "--json")
    assert r.code == 0, r.stderr
    data = r.json()
    assert data["reference"]["x"] == 2e-300
    assert data["best"] is None
    r = cli("compare", "x**2", "--at", "x=3", "--json")
    assert r.json()["best"] is not None


@pytest.mark.parametrize("columns", ["80", "100"])
def test_cli_compare_sweep_table_fits_80_columns(cli, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    r = cli("compare", "--sweep")
    assert r.code == 0
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= int(columns)
    # one row per step, not one block per step (the narrow fallback)
    i = next(k for k, line in enumerate(lines) if line.startswith("sweep:"))
    assert lines[i + 3].split() == [
        "h",
        "forward",
        "backward",
        "central",
        "5-point",
        "Richardson",
        "step",
    ]
    assert lines[i + 5].split()[0] == "1e-01" and len(lines[i + 5].split()) == 7
    # no number cut short with an ellipsis anywhere
    assert "…" not in r.stdout


def test_cli_compare_plot_legend_explains_every_mark(cli):
    r = cli("compare", "sin(x)", "--at", "x=1", "--sweep")
    assert r.code == 0
    plot = r.stdout[r.stdout.index("log-log") :]
    body = [line.split("┤", 1)[-1].split("│", 1)[-1] for line in plot.splitlines()[1:19]]
    marks = set("".join(body)) - {" "}
    legend = plot[plot.index("└") :]
    for mark in marks:
        assert f"{mark} " in legend, mark  # each mark is named in the legend
    assert "+" in marks and "forward and backward nearly always share one" in legend


def test_cli_compare_fail_above_is_a_gate_for_ci(cli):
    args = ("compare", "tanh(x)", "--at", "x=0.3", "--method", "central,forward")
    r = cli(*args, "--fail-above", "1e-6", "--json")
    assert r.code == 0
    out = r.json()
    exact = 1 / math.cosh(0.3) ** 2  # independent of gradcli: d/dx tanh = sech**2
    for name in ("central", "forward"):
        est = out["methods"][name]["estimate"]["x"]
        assert out["fail_above"]["errors"][name] == pytest.approx(
            abs(est - exact) / exact, rel=1e-6
        )
    assert out["fail_above"]["failed"] == []
    # forward's error (~1e-8) is above 1e-10, central's (~1e-11) is not
    r = cli(*args, "--fail-above", "1e-10")
    assert r.code == 1
    assert r.stdout.splitlines()[-1].startswith("fail: above --fail-above 1e-10")
    assert "forward" in r.stdout.splitlines()[-1]
    assert "central" not in r.stdout.splitlines()[-1]
    r = cli("compare", "tanh(x)", "--at", "x=0.3", "--method", "central", "--fail-above", "1e-9")
    assert r.code == 0 and "pass: every method within --fail-above 1e-09" in r.stdout


def test_cli_compare_fail_above_no_reference_judges_by_own_estimate(cli):
    r = cli(
        "compare", "exp(x)", "--at", "x=1", "--method", "five_point,adaptive",
        "--fail-above", "1e-4", "--no-reference", "--json",
    )  # fmt: skip
    assert r.code == 0
    gate = r.json()["fail_above"]
    assert gate["against"] == "own error estimate"
    for name in ("five_point", "adaptive"):
        m = r.json()["methods"][name]
        own = m["error_estimate"]["x"] / abs(m["estimate"]["x"])
        assert gate["errors"][name] == pytest.approx(own)
    # five-point's own estimate (vs central on the same points) is ~1e-7 here
    r = cli(
        "compare", "exp(x)", "--at", "x=1", "--method", "five_point",
        "--fail-above", "1e-12", "--no-reference",
    )  # fmt: skip
    assert r.code == 1


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--fail-above", "0"], "positive"),
        (["--fail-above", "nan"], "positive"),
        (["--no-reference"], "give --fail-above"),
        (["--method", "central", "--fail-above", "1e-6", "--no-reference"], "no error estimate"),
    ],
)
def test_cli_compare_fail_above_bad_input(cli, extra, needle):
    r = cli("compare", "sin(x)", "--at", "x=1", *extra)
    assert r.code == 2 and needle in r.stderr and r.stdout == ""
