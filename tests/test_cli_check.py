"""``gradcli check`` and ``gradcli exercises`` through the CLI: exit codes, the JSON schemas,
the starter folder, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "learner_corpus"
FILE_KEYS = {
    "schema",
    "file",
    "source",
    "status",
    "duration_s",
    "adapter",
    "found",
    "skipped",
    "checks",
    "root_causes",
    "causes",
    "coverage",
    "notes",
    "load_error",
    "passed",
    "failed",
    "todo",
}
CHECK_KEYS = {
    "id",
    "status",
    "method",
    "blame",
    "todo",
    "target",
    "op",
    "name",
    "passed",
    "expected",
    "got",
    "message",
    "hint",
    "consequence_of",
}
FOLDER_KEYS = {
    "schema",
    "directory",
    "status",
    "exercises",
    "todo",
    "found",
    "skipped",
    "checks",
    "root_causes",
    "causes",
    "notes",
    "duration_s",
    "passed",
    "failed",
}


def test_cli_check_correct_file_exits_0_with_the_schema(cli):
    r = cli("check", str(CORPUS / "derivatives_ok.py"), "--json", "--no-torch")
    assert r.code == 0, r.stderr
    out = r.json()
    assert set(out) == FILE_KEYS
    assert all(set(c) == CHECK_KEYS for c in out["checks"])
    assert out["failed"] == 0 and out["passed"] == len(out["checks"]) == 6
    assert {c["target"] for c in out["checks"]} == {
        "forward_difference",
        "backward_difference",
        "symmetric_difference",
    }


def test_cli_check_wrong_rule_exits_1_and_names_it(cli, tmp_path):
    src = (CORPUS / "lecture_value.py").read_text()
    bad = tmp_path / "value.py"
    bad.write_text(
        src.replace("self.grad += other.data * out.grad", "self.grad += self.data * out.grad")
    )
    r = cli("check", str(bad), "--json", "--no-torch")
    assert r.code == 1
    out = r.json()
    assert out["root_causes"] == ["mul"]
    c = next(c for c in out["checks"] if c["name"] == "d(a*b)/da")
    assert c["op"] == "mul" and c["expected"] == -3.0 and c["got"] == 2.0
    r = cli("check", str(bad), "--no-torch")
    assert r.code == 1
    text = " ".join(r.stdout.split())  # the hint wraps at the terminal's width
    assert "to fix (1)" in text
    assert "the rule for mul uses self.data where it needs other.data" in text
    assert "failed" in r.stdout.splitlines()[-1]


def test_cli_check_table_lists_failures_first(cli, tmp_path):
    src = (CORPUS / "lecture_value.py").read_text()
    bad = tmp_path / "value.py"
    bad.write_text(src.replace("(1 - t**2) * out.grad", "(1 - x**2) * out.grad"))
    r = cli("check", str(bad), "--no-torch", "--verbose")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("d(a.tanh())/da")]
    assert lines and all("FAIL" in ln for ln in lines)
    table = r.stdout[r.stdout.index("check ") :]
    assert table.index("FAIL") < table.index(" ok")


def test_cli_check_starter_file_alone_is_todo_exit_0(cli, tmp_path):
    # a single file: exit 1 only when a check failed; what is not written yet is said, exit 0
    assert cli("exercises", "new", str(tmp_path / "ex")).code == 0
    r = cli("check", str(tmp_path / "ex" / "gradient.py"), "--json", "--no-torch")
    assert r.code == 0
    out = r.json()
    assert out["status"] == "todo"
    assert out["passed"] == 0 and out["failed"] == 0 and out["todo"] == 3
    assert all("not written yet" in c["message"] for c in out["checks"])


def test_cli_fresh_starter_folder_is_all_todo(cli, tmp_path):
    folder = tmp_path / "ex"
    r = cli("exercises", "new", str(folder))
    assert r.code == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "derivatives.py",
        "gradient.py",
        "softmax.py",
        "value.py",
    ]
    r = cli("check", str(folder), "--json", "--no-torch")
    assert r.code == 1
    out = r.json()
    assert set(out) == FOLDER_KEYS
    assert [e["status"] for e in out["exercises"]] == ["todo"] * 4
    assert out["todo"] == 4 and out["passed"] == 0
    assert all(set(c) == CHECK_KEYS | {"file"} for c in out["checks"])
    assert {c["file"] for c in out["checks"]} == {
        "gradient.py",
        "derivatives.py",
        "value.py",
        "softmax.py",
    }
    assert out["root_causes"] == []  # nothing is wrong: it is just not written yet
    r = cli("check", str(folder), "--no-torch")
    assert r.code == 1 and "todo" in r.stdout and "wrong" not in r.stdout


def test_cli_check_solved_folder_is_done_exit_0(cli, tmp_path):
    folder = tmp_path / "ex"
    cli("exercises", "new", str(folder))
    shutil.copy(CORPUS / "gradient_ok.py", folder / "gradient.py")
    shutil.copy(CORPUS / "derivatives_ok.py", folder / "derivatives.py")
    # the lecture's class, with the two reflected operators the exercise also asks for
    (folder / "value.py").write_text(
        (CORPUS / "lecture_value.py").read_text()
        + "\n\nValue.__rsub__ = lambda self, other: Value(other) - self\n"
        + "Value.__rtruediv__ = lambda self, other: Value(other) / self\n"
    )
    stable = (CORPUS / "softmax_stable.py").read_text().replace("lecture_value", "value")
    (folder / "softmax.py").write_text(stable)
    r = cli("check", str(folder), "--json", "--no-torch")
    assert r.code == 0, r.stdout
    out = r.json()
    assert [e["status"] for e in out["exercises"]] == ["done"] * 4
    assert out["todo"] == 0 and out["failed"] == 0
    # one file half written: the folder is todo again, that row says what to write next
    (folder / "derivatives.py").write_text(
        (CORPUS / "derivatives_ok.py").read_text()
        + "\n\ndef symmetric_difference(f, x, h):\n    raise NotImplementedError\n"
    )
    r = cli("check", str(folder), "--no-torch")
    assert r.code == 1
    row = next(ln for ln in r.stdout.splitlines() if "derivatives.py" in ln)
    assert "todo" in row and "write symmetric_difference" in row


def test_cli_check_missing_exercise_file_is_todo(cli, tmp_path):
    shutil.copy(CORPUS / "gradient_ok.py", tmp_path / "gradient.py")
    r = cli("check", str(tmp_path), "--json", "--no-torch")
    assert r.code == 1
    statuses = {e["file"]: e["status"] for e in r.json()["exercises"]}
    assert statuses == {
        "gradient.py": "done",
        "derivatives.py": "todo",
        "value.py": "todo",
        "softmax.py": "todo",
    }


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: p / "nothing.py", "no such file"),
        (lambda p: _write(p / "empty.py", "x = 1\n"), "defines nothing gradcli checks"),
        (lambda p: _write(p / "broken.py", "def f(:\n"), "does not load"),
        (lambda p: _write(p / "notes.md", "hello\n"), "not Python code gradcli reads"),
        (lambda p: _write(p / "notes.txt", "hello there\n"), "does not load"),
        (lambda p: _write(p / "nb.ipynb", "{}"), "does not load: nb.ipynb is not a notebook"),
        (lambda p: p, "holds none of the exercise files"),
    ],
    ids=["missing", "nothing", "syntax", "not-python", "text", "notebook", "empty-folder"],
)
def test_cli_check_bad_input_exits_2(cli, tmp_path, make, needle):
    path = make(tmp_path)
    r = cli("check", str(path), "--no-torch")
    assert r.code == 2
    assert r.stdout == ""
    assert r.stderr.startswith("gradcli: error: ") and needle in r.stderr
    assert "Traceback (most recent call last)" not in r.stderr or "gradcli" not in r.stderr
    j = cli("check", str(path), "--no-torch", "--json")
    assert j.code == 2
    out = j.json()
    assert j.stderr.startswith("gradcli: error: ")
    if "does not load" in needle:  # a file that does not load is a report, status "error"
        assert set(out) == FILE_KEYS and out["status"] == "error"
        assert needle in out["load_error"]
    else:  # usage errors: the one --json error contract of every command
        assert set(out) == {"error", "hint", "exit_code"} and out["exit_code"] == 2
        assert needle in f"{out['error']}; {out['hint']}"


def test_cli_check_load_error_shows_the_learners_traceback(cli, tmp_path):
    path = _write(tmp_path / "value.py", "import math\n\n\ndef f():\n    return 1 / 0\n\n\nf()\n")
    r = cli("check", str(path), "--no-torch")
    assert r.code == 2
    assert "ZeroDivisionError" in r.stderr and "value.py" in r.stderr and "line 5" in r.stderr
    assert "src/gradcli" not in r.stderr and "importlib" not in r.stderr


def test_cli_check_usage_errors(cli, tmp_path):
    r = cli("check", "--json")
    assert r.code == 2 and "give a file or a folder" in r.json()["error"]
    r = cli("check", str(CORPUS / "gradient_ok.py"), "--timeout", "abc", "--json")
    assert r.code == 2 and "--timeout" in r.json()["error"]
    r = cli("check", str(CORPUS / "gradient_ok.py"), "--timeout", "0")
    assert r.code == 2 and "--timeout" in r.stderr
    r = cli("check", str(CORPUS / "gradient_ok.py"), "--watch", "--json")
    assert r.code == 2 and "--watch" in r.json()["error"]
    r = cli("check", str(CORPUS / "lecture_value.py"), "--class", "Nope", "--json")
    assert r.code == 2 and "no class named Nope" in r.json()["error"]


def test_cli_check_class_option_checks_another_name(cli, tmp_path):
    src = (CORPUS / "lecture_value.py").read_text().replace("Value", "Scalar")
    path = _write(tmp_path / "scalar.py", src)
    # the one class with arithmetic is found by behaviour, whatever its name
    r = cli("check", str(path), "--no-torch", "--json")
    assert r.code == 0 and "Scalar" in r.json()["found"]
    r = cli("check", str(path), "--class", "Scalar", "--no-torch", "--json")
    assert r.code == 0 and "Scalar" in r.json()["found"]
    assert cli("check", str(path), "--class", "Value", "--no-torch").code == 2  # no such class


def test_cli_exercises_lists_them_in_order(cli):
    r = cli("exercises", "--json")
    assert r.code == 0
    rows = r.json()["exercises"]
    assert [e["number"] for e in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [e["file"] for e in rows[:5]] == [
        "gradient.py",
        "derivatives.py",
        "derivatives.py",
        "value.py",
        "softmax.py",
    ]
    r = cli("exercises")
    assert r.code == 0 and "gradcli exercises new DIR" in r.stdout


def test_cli_exercises_new_refuses_to_overwrite(cli, tmp_path):
    folder = tmp_path / "ex"
    assert cli("exercises", "new", str(folder)).code == 0
    (folder / "value.py").write_text("# my work\n")
    r = cli("exercises", "new", str(folder))
    assert r.code == 2 and "--force" in r.stderr
    assert (folder / "value.py").read_text() == "# my work\n"
    j = cli("exercises", "new", str(folder), "--json")
    assert j.code == 2 and set(j.json()) == {"error", "hint", "exit_code"}
    r = cli("exercises", "new", str(folder), "--force", "--json")
    assert r.code == 0 and "value.py" in r.json()["written"]
    assert "NotImplementedError" in (folder / "value.py").read_text()
    assert cli("exercises", "old").code == 2
    assert cli("exercises", "new").code == 2


def test_cli_exercises_new_missing_adds_only_the_files_a_folder_lacks(cli, tmp_path):
    folder = tmp_path / "ex"
    folder.mkdir()
    (folder / "value.py").write_text("# my work\n")
    r = cli("exercises", "new", str(folder), "--missing", "--json")
    assert r.code == 0
    assert r.json()["kept"] == ["value.py"]
    assert sorted(r.json()["written"]) == sorted(
        ["gradient.py", "derivatives.py", "softmax.py", "README.md"]
    )
    assert (folder / "value.py").read_text() == "# my work\n"
    assert "NotImplementedError" in (folder / "softmax.py").read_text()
    r = cli("exercises", "new", str(folder), "--missing")  # nothing left to add
    assert r.code == 0 and "nothing was written" in r.stdout
    assert cli("exercises", "new", str(folder), "--missing", "--force").code == 2


def test_cli_exercises_help_and_readme_say_what_there_is(cli):
    r = cli("exercises", "--help")
    assert "Usage: gradcli exercises [OPTIONS] [new] [DIR]" in r.stdout
    assert "[[" not in r.stdout and "--missing" in r.stdout
    from gradcli.learner.exercises import STARTER_FILES, template

    n = len([f for f in STARTER_FILES if f.endswith(".py")])
    words = {4: "Four", 5: "Five", 6: "Six"}
    assert template("README.md").splitlines()[2].startswith(f"{words[n]} small files")


def test_cli_exercises_starters_state_the_task(tmp_path):
    from gradcli.learner.exercises import STARTER_FILES, template

    for name in STARTER_FILES:
        text = template(name)
        assert len(text) > 300, name
    assert "def gradf(a, b, c):" in template("gradient.py")
    assert "def forward_difference(f, x, h):" in template("derivatives.py")
    assert "def symmetric_difference(f, x, h):" in template("derivatives.py")
    assert "class Value:" in template("value.py") and "def __init__" in template("value.py")
    assert "def softmax(logits):" in template("softmax.py")
    assert "def nll(probs, target):" in template("softmax.py")


def test_cli_check_help_says_the_file_runs_and_expressions_do_not(cli):
    r = cli("check", "--help")
    assert r.code == 0 and "Examples" in r.stdout
    text = " ".join(r.stdout.split())
    assert "separate process" in text and "never run as code" in text


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_cli_check_json_is_one_object(cli):
    r = cli("check", str(CORPUS / "softmax_ok.py"), "--json", "--no-torch")
    assert r.code == 0
    assert len(r.stdout.strip().splitlines()) == 1
    out = json.loads(r.stdout)
    assert any("overflows" in n for n in out["notes"])


def test_cli_check_folder_value_with_only_add_is_todo_not_done(cli, tmp_path):
    # the exercise asks for every operation, both sides: a value.py with only __add__ is todo
    folder = tmp_path / "ex"
    assert cli("exercises", "new", str(folder)).code == 0
    (folder / "value.py").write_text(
        "class Value:\n"
        "    def __init__(self, data, _children=(), _op=''):\n"
        "        self.data, self.grad = data, 0.0\n"
        "        self._backward = lambda: None\n"
        "        self._prev = set(_children)\n"
        "    def __add__(self, other):\n"
        "        out = Value(self.data + other.data, (self, other), '+')\n"
        "        def _backward():\n"
        "            self.grad += out.grad\n"
        "            other.grad += out.grad\n"
        "        out._backward = _backward\n"
        "        return out\n"
        "    def backward(self):\n"
        "        topo, seen = [], set()\n"
        "        def build(v):\n"
        "            if v not in seen:\n"
        "                seen.add(v)\n"
        "                for c in v._prev:\n"
        "                    build(c)\n"
        "                topo.append(v)\n"
        "        build(self)\n"
        "        self.grad = 1.0\n"
        "        for v in reversed(topo):\n"
        "            v._backward()\n"
    )
    r = cli("check", str(folder), "--json", "--no-torch")
    assert r.code == 1
    out = r.json()
    row = next(e for e in out["exercises"] if e["file"] == "value.py")
    assert row["status"] == "todo" and row["failed"] == 0
    todo = {c["todo"] for c in out["checks"] if c["file"] == "value.py" and c["status"] == "todo"}
    assert "Value.__mul__" in todo and "Value.exp" in todo
    # the same file alone: what it has is right, the rest is said, exit 0
    r = cli("check", str(folder / "value.py"), "--json", "--no-torch")
    assert r.code == 0 and r.json()["failed"] == 0


def test_cli_check_attr_names_what_behaviour_cannot_find(cli, tmp_path):
    # grad is called 'slope' here: nothing looks like a gradient by name, so it must be named
    src = (CORPUS / "lecture_value.py").read_text().replace(".grad", ".slope")
    path = _write(tmp_path / "value.py", src)
    r = cli("check", str(path), "--json", "--no-torch")
    assert r.code == 0
    out = r.json()
    assert "grad" not in out["adapter"] and out["coverage"]["gaps"]
    assert not any(c["name"].startswith("d(") for c in out["checks"])  # no gradient checked
    r = cli("check", str(path), "--json", "--no-torch", "--attr", "grad=slope")
    assert r.code == 0
    out = r.json()
    assert out["adapter"]["grad"] == "slope" and out["passed"] > 60
    r = cli("check", str(path), "--attr", "grad", "--no-torch")
    assert r.code == 2 and "ROLE=NAME" in r.stderr


def test_cli_check_folder_done_means_every_asked_function_is_written(cli, tmp_path):
    # derivatives.py with forward_difference alone: right, but the exercise asks for both
    folder = tmp_path / "ex"
    assert cli("exercises", "new", str(folder)).code == 0
    (folder / "derivatives.py").write_text(
        "def forward_difference(f, x, h):\n    return (f(x + h) - f(x)) / h\n"
    )
    r = cli("check", str(folder), "--json", "--no-torch")
    row = next(e for e in r.json()["exercises"] if e["file"] == "derivatives.py")
    assert row["status"] == "todo" and row["failed"] == 0 and row["passed"] == 2
    todo = [c for c in r.json()["checks"] if c["file"] == "derivatives.py" and c["todo"]]
    assert [c["todo"] for c in todo] == ["symmetric_difference"]
    # alone, the same file is right as far as it goes: exit 0
    assert cli("check", str(folder / "derivatives.py"), "--no-torch").code == 0


def test_cli_check_terminal_to_fix_and_json_causes_are_one_pass(cli, tmp_path):
    # two independent faults: the terminal's "to fix" list and the JSON read the same causes
    src = (CORPUS / "lecture_value.py").read_text()
    src = src.replace("self.grad += other.data * out.grad", "self.grad += self.data * out.grad")
    src = src.replace("(1 - t**2) * out.grad", "(1 - t) * out.grad")
    path = _write(tmp_path / "value.py", src)
    j = cli("check", str(path), "--json", "--no-torch").json()
    assert j["root_causes"] == [c["blame"] for c in j["causes"]] == ["mul", "tanh"]
    text = cli("check", str(path), "--no-torch").stdout
    block = text.split("to fix (2)", 1)[1]
    listed = [ln.split()[0] for ln in block.splitlines() if ln.startswith("  ") and ln[2] != " "]
    assert listed[:2] == j["root_causes"]
