"""``gradcli grade``: a class graded at once, hostile submissions contained, and the gradebook's
formats read back field by field against ``check_file`` run on each submission alone."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from gradcli.learner import sandbox
from gradcli.learner.grade import Rubric, discover, grade, load_rubric, score
from gradcli.learner.main import check_file
from gradcli.learner.report import FileReport
from gradcli.render import grade as rg

CORPUS = Path(__file__).parent / "learner_corpus"
LECTURE = (CORPUS / "lecture_value.py").read_text()
MUL_RULE = "self.grad += other.data * out.grad"
WRONG = LECTURE.replace(MUL_RULE, "self.grad += self.data * out.grad", 1)
GRADF_OK = (CORPUS / "gradient_ok.py").read_text()

HAS_BWRAP = sandbox.bwrap_problem() is None
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap (bwrap) cannot run here")


def _gradcli(
    *args: str, cwd: Path | None = None, timeout: float = 240, columns: int = 120
) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COLUMNS=str(columns))
    return subprocess.run(
        [sys.executable, "-m", "gradcli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


def _student(root: Path, name: str, source: str, fname: str = "value.py") -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / fname).write_text(source)
    return d


def _own(path: Path) -> FileReport:
    """The independent reference: the same file checked alone."""
    return check_file(path, timeout=5.0, use_torch=False)


# ---- discovery ---------------------------------------------------------------------------------


def test_grade_discover_names_students_by_file_or_folder(tmp_path):
    cls = tmp_path / "class"
    _student(cls, "bob", LECTURE)
    ex = cls / "dana"
    ex.mkdir()
    (ex / "value.py").write_text(LECTURE)
    (ex / "gradient.py").write_text(GRADF_OK)
    (cls / "erin.py").write_text(GRADF_OK)
    (cls / "fay.ipynb").write_text("{}")
    subs = discover([str(cls)])
    assert [(s.student, s.path.name) for s in subs] == [
        ("bob", "bob"),
        ("dana", "dana"),
        ("erin", "erin.py"),
        ("fay", "fay.ipynb"),
    ]
    # the same student given twice gets a second name, not a second row overwriting the first
    twice = discover([str(cls / "erin.py"), str(cls / "erin.py")])
    assert [s.student for s in twice] == ["erin", "erin-2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give the submissions to grade"),
        (["nowhere"], "no such file or folder: nowhere"),
        (["notes.md"], "is not a submission"),
        (["x.py", "--jobs", "0"], "--jobs 0"),
        (["x.py", "--format", "xml"], "--format xml"),
        (["x.py", "--timeout", "-1"], "--timeout -1"),
        (["x.py", "--fail-under", "2"], "--fail-under 2"),
        (["x.py", "--rubric", "missing.toml"], "cannot read the rubric"),
    ],
)
def test_grade_bad_usage_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "notes.md").write_text("hi")
    (tmp_path / "x.py").write_text(GRADF_OK)
    r = _gradcli("grade", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr


# ---- scores and formats ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    _student(root, "bob", LECTURE)
    _student(root, "carol", WRONG)
    _student(root, "dave", "raise NotImplementedError('not yet')\n")
    book = grade(discover([str(root)]), jobs=2, timeout=5.0, use_torch=False)
    return root, book


def test_grade_rows_match_check_file_alone(small_class):
    root, book = small_class
    rows = {r.student: r for r in book.rows}
    assert [r.student for r in book.rows] == ["bob", "carol", "dave"]
    bob, carol = _own(root / "bob" / "value.py"), _own(root / "carol" / "value.py")
    assert (rows["bob"].status, rows["bob"].passed, rows["bob"].failed) == ("done", bob.passed, 0)
    assert rows["carol"].status == "wrong"
    assert (rows["carol"].passed, rows["carol"].failed) == (carol.passed, carol.failed)
    assert rows["bob"].score == 1.0
    # every check once: carol's fraction is her passes over the checks bob's full class had
    assert rows["carol"].score == pytest.approx(carol.passed / len(bob.checks))
    assert rows["dave"].status == "todo" and rows["dave"].score == 0.0
    assert book.most_failed()[0] == ("mul", 1)
    assert carol.root_causes == ["mul"]


def test_grade_csv_field_by_field(small_class):
    root, book = small_class
    rows = list(csv.reader(io.StringIO(rg.gradebook_csv(book))))
    head = rows[0]
    assert head[:6] == ["student", "status", "score", "passed", "failed", "first_fix"]
    carol = _own(root / "carol" / "value.py")
    ops = list(dict.fromkeys(c.op or c.target for c in _own(root / "bob" / "value.py").checks))
    assert head[6:] == ops
    got = {r[0]: r for r in rows[1:]}
    assert got["carol"][1:6] == [
        "wrong",
        f"{carol.passed / (carol.passed + carol.failed):.6g}",
        str(carol.passed),
        str(carol.failed),
        " ".join(carol.first_hint(short=True).split()),
    ]
    for i, op in enumerate(ops, start=6):
        mine = [c for c in carol.checks if (c.op or c.target) == op]
        want = sum(c.passed for c in mine) / len(mine)
        assert float(got["carol"][i]) == pytest.approx(want, abs=1e-6)
    assert got["bob"][1:3] == ["done", "1"] and set(got["bob"][6:]) == {"1"}
    assert got["dave"][1] == "todo"


def test_grade_json_lines_hold_the_check_schema(small_class):
    root, book = small_class
    lines = rg.gradebook_jsonl(book).splitlines()
    objs = [json.loads(x) for x in lines]
    assert [o["student"] for o in objs] == ["bob", "carol", "dave"]
    carol = _own(root / "carol" / "value.py").to_json()
    o = objs[1]
    assert o["status"] == "wrong" and o["passed"] == carol["passed"]
    assert o["report"]["root_causes"] == carol["root_causes"] == ["mul"]
    assert [c["name"] for c in o["report"]["checks"]] == [c["name"] for c in carol["checks"]]
    assert [c["passed"] for c in o["report"]["checks"]] == [c["passed"] for c in carol["checks"]]


def test_grade_gradescope_results(small_class):
    root, book = small_class
    carol_row = next(r for r in book.rows if r.student == "carol")
    res = rg.gradescope(carol_row, book)
    carol = _own(root / "carol" / "value.py")
    assert set(res) >= {"score", "tests", "output"}
    assert res["score"] == pytest.approx(carol.passed)
    assert sum(t["max_score"] for t in res["tests"]) == pytest.approx(len(carol.checks))
    for t in res["tests"]:
        assert set(t) == {"name", "score", "max_score", "status", "output"}
        mine = [c for c in carol.checks if (c.op or c.target) == t["name"]]
        assert t["max_score"] == len(mine)
        assert t["score"] == sum(c.passed for c in mine)
        assert t["status"] == ("passed" if all(c.passed for c in mine) else "failed")
    mul = next(t for t in res["tests"] if t["name"] == "mul")
    assert "the rule for mul uses self.data" in mul["output"]
    assert "to fix (1)" in res["output"] and "\x1b[" not in res["output"]


def test_grade_rubric_weights(small_class, tmp_path):
    root, book = small_class
    toml = tmp_path / "rubric.toml"
    toml.write_text("[weights]\ndefault = 1\n\n[weights.ops]\nmul = 3\nbackward = 0\n")
    rubric = load_rubric(toml)
    assert rubric == Rubric(1.0, {"mul": 3.0, "backward": 0.0}, {}, {})
    score(book.rows, rubric)
    carol = _own(root / "carol" / "value.py")

    def w(c):
        return {"mul": 3.0, "backward": 0.0}.get(c.op or c.target, 1.0)

    want = sum(w(c) for c in carol.checks if c.passed) / sum(w(c) for c in carol.checks)
    got = next(r for r in book.rows if r.student == "carol").score
    assert got == pytest.approx(want)
    score(book.rows)  # back to every check once for the other tests
    bad = tmp_path / "bad.toml"
    bad.write_text("[weights.ops]\nmul = 'three'\n")
    with pytest.raises(Exception, match=r"ops.mul must be a number"):
        load_rubric(bad)


def test_grade_cli_writes_gradebook_feedback_and_gradescope(small_class, tmp_path):
    root, _book = small_class
    out = tmp_path / "out"
    r = _gradcli("grade", str(root), "--no-torch", "--out", str(out), "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert "gradebook" in r.stdout and "fails most often" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "_summary.json",
        "_summary.txt",
        "bob.txt",
        "carol.txt",
        "dave.txt",
        "gradebook.csv",
    ]
    # the feedback is the text check prints, plain
    alone = _gradcli("check", "value.py", "--no-torch", columns=100, cwd=root / "carol")
    fb = (out / "carol.txt").read_text()
    assert fb.splitlines()[:2] == ["student  carol", "status   wrong"]
    assert fb.splitlines()[2:] == [line.rstrip() for line in alone.stdout.splitlines()]
    assert "the rule for mul uses self.data where" in fb and "\x1b[" not in fb
    summary = json.loads((out / "_summary.json").read_text())
    assert summary["status"] == {"done": 1, "wrong": 1, "todo": 1, "error": 0}
    assert summary["most_failed"] == [{"rule": "mul", "students": 1}]
    gs = tmp_path / "gs"
    r = _gradcli("grade", str(root), "--no-torch", "--out", str(gs), "--format", "gradescope")
    assert r.returncode == 0, r.stderr
    for s in ("bob", "carol", "dave"):
        assert "tests" in json.loads((gs / s / "results.json").read_text())
    one = tmp_path / "one"
    r = _gradcli(
        "grade", str(root / "bob"), "--no-torch", "--out", str(one), "--format", "gradescope"
    )
    res = json.loads((one / "results.json").read_text())
    assert res["score"] == sum(t["max_score"] for t in res["tests"]) > 0
    # --fail-under: 1 when a score is below it, and the gradebook is still written
    r = _gradcli("grade", str(root), "--no-torch", "--format", "json", "--fail-under", "0.9")
    assert r.returncode == 1 and len(r.stdout.splitlines()) == 3


# ---- containment -------------------------------------------------------------------------------


def _hostile_class(root: Path, port: int, tag: str) -> dict[str, Path]:
    """Good and bad students, and planted ones that attack the teacher's machine."""
    cls = root / "class"
    _student(cls, "bob", LECTURE)
    _student(cls, "carol", WRONG)
    victim = _student(
        cls,
        "del",
        "import pathlib\n(pathlib.Path(__file__).parent / 'victim.txt').unlink()\n" + GRADF_OK,
        "g.py",
    )
    (victim / "victim.txt").write_text("the teacher's file")
    _student(
        cls,
        "intruder",
        "import pathlib\n"
        "(pathlib.Path(__file__).resolve().parents[1] / 'bob' / 'value.py').write_text('x = 1')\n"
        "open('beside.txt', 'w').write('in the working directory')\n" + GRADF_OK,
        "g.py",
    )
    _student(
        cls,
        "killer",
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + GRADF_OK,
        "g.py",
    )
    _student(
        cls,
        "net",
        "import socket\ntry:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'stolen')\n"
        "except OSError:\n    pass\n" + GRADF_OK,
        "g.py",
    )
    fork = (
        "import os\n"
        "for leave in (False, True):\n"
        "    if os.fork() == 0:\n"
        "        if leave:\n"
        "            os.setsid()\n"
        f"        os.execv('/bin/sleep', ['sleep', '{tag}'])\n"
    )
    _student(cls, "forker", fork + GRADF_OK, "g.py")
    _student(cls, "hang", "while True:\n    pass\n", "g.py")
    _student(cls, "hog", "hog = bytearray(64 * 1024**3)\n" + GRADF_OK, "g.py")
    _student(cls, "crash", "import ctypes\nctypes.string_at(0)\n", "g.py")
    _student(
        cls,
        "flood",
        "import os, sys\nfor _ in range(2000):\n"
        "    sys.stdout.write('x' * 10000)\n    os.write(1, b'y' * 10000)\n" + GRADF_OK,
        "g.py",
    )
    return {"class": cls, "victim": victim / "victim.txt", "bob": cls / "bob" / "value.py"}


def _sleepers(tag: str) -> list[int]:
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if cmd == f"sleep\0{tag}\0".encode():
                out.append(int(entry.name))
    return out


def _run_hostile(tmp_path: Path, flag: str):
    tag = f"{7000 + uuid.uuid4().int % 1000}.{os.getpid()}"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    paths = _hostile_class(tmp_path, port, tag)
    before = {p: p.read_bytes() for p in paths["class"].rglob("*") if p.is_file()}
    start = time.monotonic()
    r = _gradcli(
        "grade",
        str(paths["class"]),
        flag,
        "--no-torch",
        "--timeout",
        "2",
        "--format",
        "json",
        "--jobs",
        "3",
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - start
    try:
        conn, _ = listener.accept()
        connected = conn.recv(100) or b"connected"
    except BlockingIOError:
        connected = b""
    listener.close()
    time.sleep(0.2)
    left = _sleepers(tag)
    for pid in left:  # do not leave them on the test machine either
        os.kill(pid, 9)
    rows = {o["student"]: o for o in map(json.loads, r.stdout.splitlines())}
    changed = [str(p) for p, data in before.items() if not p.exists() or p.read_bytes() != data] + [
        str(p) for p in paths["class"].rglob("*") if p.is_file() and p not in before
    ]
    return r, rows, connected, left, changed, elapsed, tmp_path


def _assert_rows_right(r, rows):
    assert r.returncode == 0, r.stderr
    assert set(rows) == {
        "bob",
        "carol",
        "del",
        "intruder",
        "killer",
        "net",
        "forker",
        "hang",
        "crash",
        "flood",
        "hog",
    }
    # (the planted students define gradf, bob does not: his score counts those columns too)
    assert rows["bob"]["status"] == "done" and rows["bob"]["failed"] == 0
    assert rows["bob"]["passed"] == len(_own(CORPUS / "lecture_value.py").checks)
    assert rows["carol"]["status"] == "wrong" and rows["carol"]["report"]["root_causes"] == ["mul"]
    assert (
        rows["hang"]["status"] == "error"
        and "did not finish within 2 s" in rows["hang"]["first_fix"]
    )
    assert rows["crash"]["status"] == "error" and "SIGSEGV" in rows["crash"]["first_fix"]
    # a top-level statement that fails is that statement's note; the checks go on
    assert rows["hog"]["status"] == "done" and _noted(rows["hog"], "MemoryError")
    for s in ("forker", "flood", "net"):
        assert rows[s]["status"] == "done", (s, rows[s]["first_fix"])


def _noted(row: dict, text: str) -> bool:
    return any(text in n for n in row["report"]["notes"])


@needs_bwrap
def test_grade_sandbox_contains_hostile_submissions(tmp_path):
    r, rows, connected, left, changed, elapsed, cwd = _run_hostile(tmp_path, "--sandbox")
    _assert_rows_right(r, rows)
    assert changed == []  # nothing beside a submission, nothing in another's folder
    assert not (cwd / "beside.txt").exists()
    assert connected == b""  # no connection arrived
    assert left == []  # nothing outlived the batch
    assert rows["killer"]["status"] == "done"  # its parent is invisible: the kill did nothing
    assert rows["del"]["status"] == "done" and _noted(rows["del"], "Read-only file system")
    assert rows["intruder"]["status"] == "done", rows["intruder"]["report"]["notes"]
    assert _noted(rows["intruder"], "line 2"), rows["intruder"]["report"]["notes"]
    assert elapsed < 120


def test_grade_always_level_survives_kill_and_forks(tmp_path):
    """Without the sandbox: gradcli is not the worker's parent, forked sleepers are killed
    (even one that left the session), the working directory is a scratch folder. Files the
    submission reaches by absolute path are NOT protected at this level (documented)."""
    r, rows, _connected, left, changed, _elapsed, cwd = _run_hostile(tmp_path, "--no-sandbox")
    assert r.returncode == 0, r.stderr  # the kill of its parent did not end gradcli
    assert len(rows) == 11
    assert rows["hog"]["status"] == "done" and _noted(rows["hog"], "MemoryError")
    assert rows["carol"]["status"] == "wrong"
    assert rows["hang"]["status"] == "error" and rows["crash"]["status"] == "error"
    assert rows["forker"]["status"] == "done" and rows["flood"]["status"] == "done"
    assert left == []
    assert not (cwd / "beside.txt").exists()  # relative writes land in the scratch folder
    assert not any(p.name == "beside.txt" for p in (cwd / "class").rglob("*"))
    assert str(tmp_path / "class" / "del" / "victim.txt") in changed  # honest: not protected


def test_grade_sandbox_asked_without_bwrap_says_how_to_install(tmp_path):
    (tmp_path / "a.py").write_text(GRADF_OK)
    env = dict(os.environ, PATH="/nonexistent", NO_COLOR="1")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradcli",
            "grade",
            str(tmp_path / "a.py"),
            "--sandbox",
            "--no-torch",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0
    warn = [x for x in r.stderr.splitlines() if "bwrap" in x]
    assert len(warn) == 1 and "apt-get install bubblewrap" in warn[0]
    assert json.loads(r.stdout)["status"] == "done"


def test_grade_progress_bar_only_on_a_terminal(tmp_path):
    (tmp_path / "a.py").write_text(GRADF_OK)
    r = _gradcli("grade", str(tmp_path / "a.py"), "--no-torch", "--format", "csv")
    assert r.returncode == 0 and "grading" not in r.stderr and "━" not in r.stderr
    assert r.stdout.splitlines()[1].startswith("a,done,1,3,0,")
    if not hasattr(os, "openpty"):
        return
    import pty
    import select

    main_fd, term = pty.openpty()
    env = dict(os.environ, TERM="xterm", COLUMNS="100")
    env.pop("NO_COLOR", None)
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gradcli",
            "grade",
            str(tmp_path / "a.py"),
            "--no-torch",
            "--format",
            "csv",
        ],
        stdout=subprocess.PIPE,
        stderr=term,
        env=env,
    )
    os.close(term)
    shown = b""
    while True:
        ready, _, _ = select.select([main_fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(main_fd, 65536)
            except OSError:
                break
            if not data:
                break
            shown += data
        elif p.poll() is not None:
            break
    os.close(main_fd)
    out = p.communicate()[0].decode()
    assert b"grading" in shown and b"0/1" in shown  # the bar, on the terminal (stderr)
    assert out.splitlines()[1].startswith("a,done,1,3,0,")  # the gradebook, piped, unchanged


@needs_bwrap
def test_check_sandbox_flag_makes_the_files_read_only(tmp_path):
    (tmp_path / "victim.txt").write_text("keep me")
    (tmp_path / "del.py").write_text(
        "import pathlib\n(pathlib.Path(__file__).parent / 'victim.txt').unlink()\n" + GRADF_OK
    )
    r = _gradcli("check", "del.py", "--no-torch", "--sandbox", cwd=tmp_path)
    # the statement that failed is a note; gradf is still checked
    assert r.returncode == 0 and "Read-only file system" in r.stdout
    assert (tmp_path / "victim.txt").read_text() == "keep me"
    r = _gradcli("check", "del.py", "--no-torch", cwd=tmp_path)  # off by default for check
    assert r.returncode == 0 and not (tmp_path / "victim.txt").exists()


def test_grade_reads_notebooks_and_exports_like_check(tmp_path):
    """Half of a class hands in notebooks (Colab's, exported .txt): each is a row as
    ``check_file`` sees it alone."""
    styles = CORPUS / "styles"
    subs = {
        "ana.ipynb": styles / "correct" / "nb_colab.ipynb",
        "ben.txt": styles / "correct" / "export_notebook.txt",
        "cleo.ipynb": styles / "buggy" / "nb_lecture_pow.ipynb",
    }
    for name, src in subs.items():
        (tmp_path / name).write_bytes(src.read_bytes())
    r = _gradcli("grade", *subs, "--no-torch", "--no-sandbox", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {o["student"]: o for o in map(json.loads, r.stdout.splitlines())}
    assert rows["ana"]["status"] == "done" and rows["ben"]["status"] == "done"
    assert rows["cleo"]["status"] == "wrong" and rows["cleo"]["report"]["root_causes"] == ["pow"]
    alone = _own(tmp_path / "ana.ipynb")
    assert rows["ana"]["passed"] == alone.passed and alone.source == "notebook"
