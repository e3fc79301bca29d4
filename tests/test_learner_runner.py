"""The learner's code runs in a child process: whatever it does, gradcli goes on, reports it as
that check's failure, and never hangs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from gradcli.learner.main import check_file
from gradcli.learner.report import FileReport
from gradcli.learner.runner import Session

CORPUS = Path(__file__).parent / "learner_corpus"
LECTURE = (CORPUS / "lecture_value.py").read_text()


def lecture_with(tmp_path: Path, old: str, new: str, name: str = "value.py") -> Path:
    assert old in LECTURE
    path = tmp_path / name
    path.write_text(LECTURE.replace(old, new, 1))
    return path


def check(path: Path, timeout: float = 5.0) -> FileReport:
    return check_file(path, timeout=timeout, use_torch=False)


MUL_RULE = "            self.grad += other.data * out.grad\n"


def test_runner_sys_exit_is_that_checks_failure(tmp_path):
    path = lecture_with(tmp_path, MUL_RULE, MUL_RULE + "            import sys; sys.exit(3)\n")
    report = check(path)
    bad = [c for c in report.checks if c.status == "fail" and c.consequence_of is None]
    assert bad and "sys.exit(3)" in bad[0].message
    assert report.root_causes == ["mul"]
    assert any(c.passed and c.op == "add" for c in report.checks)  # the rest still ran


def test_runner_os_exit_and_segfault_are_crashes(tmp_path):
    for i, code in enumerate(["import os; os._exit(7)", "import ctypes; ctypes.string_at(0)"]):
        path = lecture_with(
            tmp_path,
            "    def exp(self):\n",
            f"    def exp(self):\n        {code}\n",
            name=f"value{i}.py",
        )
        report = check(path)
        exp = [c for c in report.checks if c.op == "exp"]
        assert exp and not any(c.passed for c in exp)
        assert "crashed" in exp[0].message or "exited with code 7" in exp[0].message
        assert report.root_causes == ["exp"]
        assert any(c.passed and c.op == "tanh" for c in report.checks)  # a new child went on


def test_runner_flood_of_prints_does_not_touch_the_protocol(tmp_path):
    chatty = (
        "        print('adding', self, other)\n"
        "        import os; os.write(1, b'raw bytes on fd 1, as C code would write\\n' * 50)\n"
    )
    flood = "        for _ in range(50_000): print('flood', file=__import__('sys').stderr)\n"
    path = lecture_with(
        tmp_path, "    def __add__(self, other):\n", "    def __add__(self, other):\n" + chatty
    )
    path.write_text(
        path.read_text().replace("    def exp(self):\n", "    def exp(self):\n" + flood)
    )
    report = check(path)
    assert [c.name for c in report.checks if not c.passed] == []
    assert any("printed" in n and "not shown" in n for n in report.notes)


def test_runner_endless_print_loop_times_out(tmp_path):
    path = lecture_with(
        tmp_path,
        "    def tanh(self):\n",
        "    def tanh(self):\n        while True:\n            print('spam')\n",
    )
    start = time.monotonic()
    report = check(path, timeout=1.0)
    assert time.monotonic() - start < 8
    tanh = [c for c in report.checks if c.op == "tanh" and c.status == "fail"]
    assert tanh and "did not finish within 1 s" in tanh[0].message
    assert any(c.passed and c.op == "exp" for c in report.checks)


def test_runner_input_and_recursion_fail_cleanly(tmp_path):
    path = lecture_with(
        tmp_path,
        "    def log(self):\n",
        "    def log(self):\n        input('press enter')\n",
    )
    report = check(path)
    log = next(c for c in report.checks if c.op == "log" and not c.passed)
    assert "EOFError" in log.message  # standard input is empty: no waiting for a keypress
    path = lecture_with(
        tmp_path,
        "    def relu(self):\n",
        "    def relu(self):\n        return self.relu()\n",
        name="v2.py",
    )
    relu = next(c for c in check(path).checks if c.op == "relu" and not c.passed)
    assert "RecursionError" in relu.message


def test_runner_traceback_shows_only_the_learners_frames(tmp_path):
    path = lecture_with(tmp_path, MUL_RULE, "            raise ValueError('oops')\n")
    report = check(path)
    c = next(c for c in report.checks if c.traceback)
    assert "value.py" in c.traceback and "ValueError: oops" in c.traceback
    assert "gradcli" not in c.traceback and "probes.py" not in c.traceback
    assert "(value.py, line" in c.message


def test_runner_load_errors_are_trimmed(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("import math\n\nx = 1\nraise RuntimeError('at import')\n")
    report = check(bad)
    assert report.load_error is not None and "RuntimeError: at import" in report.load_error
    assert "broken.py" in report.load_traceback and "importlib" not in report.load_traceback
    assert "gradcli" not in report.load_traceback
    syntax = tmp_path / "syntax.py"
    syntax.write_text("def f(:\n    pass\n")
    report = check(syntax)
    assert report.load_error is not None and "SyntaxError" in report.load_error
    assert "syntax.py" in report.load_traceback and "gradcli" not in report.load_traceback


def test_runner_import_that_never_finishes(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text("while True:\n    pass\n")
    start = time.monotonic()
    report = check(path, timeout=1.0)
    assert time.monotonic() - start < 6
    assert report.load_error is not None and "did not finish" in report.load_error


def test_runner_stops_after_three_hangs(tmp_path):
    src = LECTURE
    for method in ("__add__", "__mul__", "__pow__", "exp", "log"):
        src = src.replace(
            f"    def {method}(self, other):\n",
            f"    def {method}(self, other):\n        while True:\n            pass\n",
        )
        src = src.replace(
            f"    def {method}(self):\n",
            f"    def {method}(self):\n        while True:\n            pass\n",
        )
    path = tmp_path / "value.py"
    path.write_text(src)
    start = time.monotonic()
    report = check(path, timeout=0.5)
    assert time.monotonic() - start < 3 * 0.5 + 6
    assert any("stopped running this file" in c.message for c in report.checks)
    assert not any(c.passed for c in report.checks)


def test_runner_session_survives_a_crash_and_restarts(tmp_path):
    path = tmp_path / "fns.py"
    path.write_text(
        "import os\n\n"
        "def forward_difference(f, x, h):\n"
        "    if h < 0.05:\n        os._exit(1)\n"
        "    return (f(x + h) - f(x)) / h\n"
    )
    with Session(path, timeout=5.0) as s:
        assert "forward_difference" in s.start()["functions"]
        req = {"kind": "fd", "name": "forward_difference", "f": "sin", "x": 0.7}
        assert s.call({**req, "hs": [0.1]}, ["fn:forward_difference"]).ok
        crash = s.call({**req, "hs": [0.01]}, ["fn:fd"], {"call": "fn:fd"})
        assert crash.status == "crash" and "exited with code 1" in crash.reason
        again = s.call({**req, "hs": [0.1]}, ["fn:forward_difference"])
        assert again.ok  # a fresh child answered
        assert s.call({**req, "hs": [0.1]}, ["fn:fd"]).status == "not_run"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
def test_runner_leaves_no_child_behind(tmp_path):
    import os

    path = tmp_path / "fns.py"
    path.write_text("def forward_difference(f, x, h):\n    while True:\n        pass\n")
    s = Session(path, timeout=0.5)
    s.start()
    assert s.child is not None
    pid = s.child.proc.pid
    out = s.call({"kind": "fd", "name": "forward_difference", "f": "sin", "x": 0.7, "hs": [0.1]})
    assert out.status == "timeout"
    s.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA is Linux's")
def test_runner_runaway_memory_is_that_checks_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADCLI_CHECK_MEMORY_MB", "200")
    grow = "        grow = []\n        while True:\n            grow.append(bytearray(1 << 20))\n"
    path = lecture_with(tmp_path, "    def log(self):\n", "    def log(self):\n" + grow)
    report = check(path)
    log = next(c for c in report.checks if c.op == "log" and not c.passed)
    assert "MemoryError" in log.message and "out of memory" in (log.hint or "")
    assert any(c.passed and c.op == "exp" for c in report.checks)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX parent ids")
def test_runner_child_ends_when_gradcli_is_killed(tmp_path):
    import os
    import subprocess

    path = tmp_path / "fns.py"
    path.write_text("def forward_difference(f, x, h):\n    while True:\n        pass\n")
    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from gradcli.learner.runner import _Child\n"
        f"c = _Child(Path({str(path)!r}), None)\n"
        "c.get(time.monotonic() + 30)\n"
        "c.send({'id': 1, 'kind': 'fd', 'name': 'forward_difference', 'f': 'sin', 'x': 0.7,"
        " 'hs': [0.1]})\n"
        "print(c.proc.pid, flush=True)\n"
        "time.sleep(0.3)\n"
        "os._exit(0)  # gradcli killed mid-check: nobody stops the child's endless loop\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail("the orphaned child kept running")


def test_runner_value_that_needs_more_arguments_is_one_root_cause(tmp_path):
    path = lecture_with(
        tmp_path,
        'def __init__(self, data, _children=(), _op="", label=""):',
        'def __init__(self, data, _children, _op="", label=""):',
    )
    report = check(path)
    assert report.root_causes == ["__init__"]
    assert "give the constructor's other arguments defaults" in (
        next(c.hint for c in report.checks if c.status == "fail") or ""
    )


BACKWARD_BODY = "        build_topo(self)\n"


@pytest.mark.parametrize(
    ("inserted", "phrase"),
    [
        ("        self.backward()\n", "RecursionError"),
        ("        raise ValueError('oops')\n", "ValueError"),
        ("        import time\n        time.sleep(1.5)\n", "took"),
    ],
    ids=["recursion", "raises", "slow"],
)
def test_runner_backward_failing_on_its_own_is_one_cause_and_fast(tmp_path, inserted, phrase):
    """backward() that fails in its own frames (not an op's rule): one cause, 'backward', and
    the checks that need it are not run, so the file is done in seconds, not minutes."""
    path = lecture_with(tmp_path, BACKWARD_BODY, inserted + BACKWARD_BODY)
    start = time.monotonic()
    report = check(path)
    assert time.monotonic() - start < 20
    assert report.root_causes == ["backward"], report.root_causes
    first = report.causes()[0].check
    assert phrase in (first.hint or "") + first.message
    assert sum(c.status == "not_run" for c in report.checks) > 10
    assert report.passed > 30  # the values and each node's own _backward are still checked


def test_runner_budget_stops_the_file_and_says_so(tmp_path):
    path = lecture_with(
        tmp_path, BACKWARD_BODY, "        import time\n        time.sleep(0.3)\n" + BACKWARD_BODY
    )
    report = check_file(path, timeout=5.0, use_torch=False, budget=2.0)
    assert any("time budget of 2 s ran out" in n for n in report.notes)
    assert any(c.status == "not_run" for c in report.checks)
