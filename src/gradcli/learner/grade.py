"""``gradcli grade``: a whole class checked at once, scored, and summed up.

:func:`discover` turns the paths a teacher gives into :class:`Submission` s (one per student),
:func:`grade` checks them in parallel (threads here; each check runs in its own contained child
processes, see :mod:`gradcli.learner.sandbox`) with one :class:`References` for the whole class,
and returns a :class:`Gradebook`: one :class:`Row` per student, scored against the class's
columns, and the class summary.

Scoring: every check counts once, unless a :class:`Rubric` weights it. A column is one op or
function of a file submission (``mul``, ``backward``, ``gradf``) or one exercise file of an
exercises folder (``value.py``); the number of checks a column holds is the most any student's
submission had, so what a student did not write (a missing file, a method left out) counts as
not passed instead of vanishing from the total.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradcli.errors import GradcliError
from gradcli.learner import sandbox
from gradcli.learner.exercises import EXERCISE_FILES
from gradcli.learner.expected import References
from gradcli.learner.report import Check, FileReport, FolderReport
from gradcli.learner.runner import DEFAULT_TIMEOUT

#: what a submission file may be
SUFFIXES = (".py", ".ipynb", ".txt")

_UNFINISHED = re.compile(
    r"did not finish within|^the process (crashed|exited|stopped)|stopped answering"
)


class GradeUsageError(GradcliError):
    """The paths or the rubric cannot be graded (exit 2)."""


@dataclass(frozen=True)
class Submission:
    """One student's work: a file, or an exercises folder."""

    student: str
    path: Path

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()


# ---- finding the submissions -------------------------------------------------------------------


def _is_exercises(folder: Path, least: int = 1) -> bool:
    return sum((folder / f).is_file() for _n, _t, f in EXERCISE_FILES) >= least


def _candidates(folder: Path) -> tuple[list[Path], list[Path]]:
    files, dirs = [], []
    for p in sorted(folder.iterdir()):
        if p.name.startswith((".", "_")):
            continue
        if p.is_dir():
            dirs.append(p)
        elif p.suffix in SUFFIXES and p.name not in ("requirements.txt", "README.txt"):
            files.append(p)
    return files, dirs


def _one(folder: Path) -> Path | None:
    """What a student's folder holds: an exercises folder (two exercise files or more), or its
    only file (``value.py`` alone is a file; one .py beside .txt notes is the .py), or None."""
    if _is_exercises(folder, 2):
        return folder
    files, dirs = _candidates(folder)
    if files and not dirs:
        for suffix in SUFFIXES:  # value.py beside notes.txt: the .py
            same = [f for f in files if f.suffix == suffix]
            if len(same) == 1:
                return same[0]
            if same:
                break
    if _is_exercises(folder):
        return folder
    if not files and len(dirs) == 1 and _is_exercises(dirs[0], 2):
        return dirs[0]
    return None


def discover(paths: Sequence[str]) -> list[Submission]:
    """One :class:`Submission` per student, named by the file or folder.

    A file (``.py``, ``.ipynb``, an exported ``.txt``) is one student. A folder is one student
    when it is an exercises folder, or holds one such file or one exercises folder; any other
    folder is a class: each file and folder in it is a student. Raises
    :class:`GradeUsageError` for no paths, a missing path or a file that is no submission.
    """
    if not paths:
        raise GradeUsageError(
            "give the submissions to grade", hint="e.g. gradcli grade submissions/*"
        )
    found: list[tuple[str, Path]] = []
    for text in paths:
        p = Path(text)
        if not p.exists():
            raise GradeUsageError(f"no such file or folder: {text}", hint="check the path")
        if p.is_file():
            if p.suffix not in SUFFIXES:
                raise GradeUsageError(
                    f"{text} is not a submission (.py, .ipynb or .txt)",
                    hint="give files or folders",
                )
            found.append((p.stem, p))
            continue
        try:
            target = _one(p)
            if target is not None:
                found.append((p.resolve().name, p))
                continue
            files, dirs = _candidates(p)
        except OSError as exc:
            raise GradeUsageError(f"cannot read {text}: {exc.strerror}") from None
        if not files and not dirs:
            raise GradeUsageError(f"{text} holds nothing to grade", hint="check the path")
        for entry in sorted([*files, *dirs], key=lambda e: (e.stem.lower(), e.name)):
            found.append((entry.stem if entry.is_file() else entry.name, entry))
    out: list[Submission] = []
    used: set[str] = set()
    for name, path in found:
        base = safe_name(name)
        unique, n = base, 1
        while unique in used:
            n += 1
            unique = f"{base}-{n}"
        used.add(unique)
        out.append(Submission(unique, path))
    return out


def safe_name(name: str) -> str:
    """A student's name as a file name: letters, digits, ``.-_`` and nothing else."""
    cleaned = re.sub(r"[^\w.-]+", "_", name).strip("._") or "student"
    return cleaned[:100]


def submission_target(sub: Submission) -> Path:
    """The file or exercises folder to check for ``sub``."""
    if sub.path.is_dir():
        return _one(sub.path) or sub.path
    return sub.path


# ---- the rubric --------------------------------------------------------------------------------


@dataclass
class Rubric:
    """Weights: a check counts ``default`` times its op's (or its function's) weight, times its
    exercise file's weight. Read from TOML by :func:`load_rubric`."""

    default: float = 1.0
    ops: dict[str, float] = field(default_factory=dict)
    functions: dict[str, float] = field(default_factory=dict)
    exercises: dict[str, float] = field(default_factory=dict)

    def weight(self, file: str, check: Check | None = None, group: str = "") -> float:
        w = self.default
        key = group or (check.op or check.target if check else "")
        if check is not None and check.op and check.op in self.ops:
            w = self.ops[check.op]
        elif check is not None and check.target in self.functions:
            w = self.functions[check.target]
        elif key in self.ops:
            w = self.ops[key]
        elif key in self.functions:
            w = self.functions[key]
        return w * self.exercises.get(file, 1.0)


def load_rubric(path: Path) -> Rubric:
    """The ``[weights]`` table of a TOML file (see the README's example)."""
    import importlib

    try:
        tomllib: Any = importlib.import_module("tomllib")
    except ModuleNotFoundError:  # Python 3.10
        try:
            tomllib = importlib.import_module("tomli")
        except ModuleNotFoundError:
            raise GradeUsageError(
                "--rubric reads TOML: it needs Python 3.11, or: pip install tomli"
            ) from None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GradeUsageError(f"cannot read the rubric {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GradeUsageError(f"the rubric {path} is not valid TOML: {exc}") from None
    weights = data.get("weights", data)

    def number(where: str, x: Any) -> float:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0:
            raise GradeUsageError(
                f"the rubric {path}: {where} must be a number >= 0, not {x!r}",
                hint="e.g. mul = 2",
            )
        return float(x)

    def table(name: str) -> dict[str, float]:
        t = weights.get(name, {})
        if not isinstance(t, dict):
            raise GradeUsageError(f"the rubric {path}: [weights.{name}] must be a table")
        return {str(k): number(f"{name}.{k}", v) for k, v in t.items()}

    unknown = set(weights) - {"default", "ops", "functions", "exercises"}
    if unknown:
        raise GradeUsageError(
            f"the rubric {path}: unknown key {sorted(unknown)[0]!r} in [weights]",
            hint="use default, ops, functions, exercises",
        )
    return Rubric(
        number("default", weights.get("default", 1.0)),
        table("ops"),
        table("functions"),
        table("exercises"),
    )


# ---- one student's result ----------------------------------------------------------------------


@dataclass
class Row:
    """One student: the report (file or folder) or the reason there is none."""

    student: str
    submission: str
    report: FileReport | FolderReport | None
    error: str | None = None  # nothing could be checked: why
    score: float = 0.0
    columns: dict[str, float] = field(default_factory=dict)  # column -> fraction passed
    points: float = 0.0  # weighted checks passed
    max_points: float = 0.0

    @property
    def files(self) -> list[FileReport]:
        if isinstance(self.report, FolderReport):
            return self.report.reports
        return [self.report] if self.report is not None else []

    @property
    def checks(self) -> list[tuple[str, Check]]:
        """Every check, with the exercise file it belongs to ("" for a file submission)."""
        folder = isinstance(self.report, FolderReport)
        return [(r.file if folder else "", c) for r in self.files for c in r.checks]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.files)

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.files)

    @property
    def unfinished(self) -> list[str]:
        """What did not finish (hung, crashed, exited), each once."""
        out: list[str] = []
        for rep in self.files:
            if rep.load_error and not rep.load_todo and _UNFINISHED.search(_after(rep)):
                out.append(rep.load_error)
            for c in rep.checks:
                if c.status in ("fail", "not_run") and _UNFINISHED.search(c.message):
                    why = f"{c.name}: {c.message}"
                    if c.status == "fail" and why not in out:
                        out.append(why)
        return out

    @property
    def status(self) -> str:
        """``done``, ``wrong``, ``todo`` or ``error`` (did not load, or did not finish)."""
        if self.error is not None or self.unfinished:
            return "error"
        if isinstance(self.report, FolderReport):
            if any(
                r.report and r.report.load_error and not r.report.load_todo
                for r in self.report.rows
            ):
                return "error"
            statuses = [r.status for r in self.report.rows]
            if all(s == "done" for s in statuses):
                return "done"
            return "wrong" if "wrong" in statuses else "todo"
        assert self.report is not None
        if self.report.load_error is not None and not self.report.load_todo:
            return "error"
        return self.report.status

    @property
    def root_causes(self) -> list[str]:
        out: list[str] = []
        for rep in self.files:
            out += [r for r in rep.root_causes if r not in out]
        return out

    def first_fix(self) -> str:
        if self.error is not None:
            return self.error
        unfinished = self.unfinished
        if unfinished:
            return f"did not finish: {unfinished[0]}"
        if isinstance(self.report, FolderReport):
            for r in self.report.rows:
                if r.status != "done":
                    return f"{r.file}: {r.next_hint()}"
            return "all checks pass"
        assert self.report is not None
        return self.report.first_hint(short=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "submission": self.submission,
            "status": self.status,
            "score": round(self.score, 6),
            "passed": self.passed,
            "failed": self.failed,
            "first_fix": self.first_fix(),
            "columns": {k: round(v, 6) for k, v in self.columns.items()},
            "error": self.error,
            "report": self.report.to_json() if self.report is not None else None,
        }


def _after(rep: FileReport) -> str:
    return rep.load_error.split(" does not load: ", 1)[-1] if rep.load_error else ""


# ---- the class ---------------------------------------------------------------------------------


@dataclass
class Gradebook:
    rows: list[Row]
    columns: list[str]
    column_points: dict[str, float] = field(default_factory=dict)  # weighted checks per column
    reference: str = ""
    seconds: float = 0.0

    def most_failed(self, n: int = 10) -> list[tuple[str, int]]:
        """The rules (root causes) that fail in the most submissions: what to teach again."""
        counts: dict[str, int] = {}
        for row in self.rows:
            for cause in row.root_causes:
                counts[cause] = counts.get(cause, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def unfinished(self) -> list[tuple[str, str]]:
        """(student, why) for every submission that did not load or did not finish."""
        return [(r.student, r.first_fix()) for r in self.rows if r.status == "error"]

    def summary_json(self) -> dict[str, Any]:
        scores = [r.score for r in self.rows]
        return {
            "students": len(self.rows),
            "status": {s: sum(r.status == s for r in self.rows) for s in _STATUSES},
            "mean_score": round(sum(scores) / len(scores), 6) if scores else None,
            "most_failed": [{"rule": k, "students": n} for k, n in self.most_failed()],
            "did_not_finish": [{"student": s, "why": w} for s, w in self.unfinished()],
            "reference": self.reference,
            "seconds": round(self.seconds, 3),
        }


_STATUSES = ("done", "wrong", "todo", "error")


def _group(c: Check) -> str:
    return c.op or c.target


def score(rows: list[Row], rubric: Rubric | None = None) -> tuple[list[str], dict[str, float]]:
    """Score every row against the class's columns (see the module's docstring); the columns,
    and the weighted number of checks each holds."""
    rubric = rubric or Rubric()
    size: dict[tuple[str, str], int] = {}  # (exercise file, group) -> most checks seen
    for row in rows:
        seen: dict[tuple[str, str], int] = {}
        for file, c in row.checks:
            key = (file, _group(c))
            seen[key] = seen.get(key, 0) + 1
        for key, n in seen.items():
            size[key] = max(size.get(key, 0), n)
    # a folder submission's missing file: the exercise's checks as the class wrote them
    columns: list[str] = []
    for file, group in size:
        col = file or group
        if col not in columns:
            columns.append(col)
    order = {f: i for i, (_n, _t, f) in enumerate(EXERCISE_FILES)}
    first = {c: i for i, c in enumerate(columns)}
    columns.sort(key=lambda c: (order.get(c, len(order)), first[c]))
    col_max: dict[str, float] = {}
    for (file, group), n in size.items():
        col = file or group
        col_max[col] = col_max.get(col, 0.0) + rubric.weight(file, None, group) * n
    for row in rows:
        got: dict[tuple[str, str], float] = {}
        for file, c in row.checks:
            if c.passed:
                key = (file, _group(c))
                got[key] = got.get(key, 0.0) + rubric.weight(file, c)
        col_got: dict[str, float] = dict.fromkeys(columns, 0.0)
        for (file, group), n in size.items():
            w = rubric.weight(file, None, group)
            col = file or group
            col_got[col] += min(got.get((file, group), 0.0), w * n)
        row.points = sum(col_got.values())
        row.max_points = sum(col_max.values())
        row.score = row.points / row.max_points if row.max_points > 0 else 0.0
        row.columns = {c: (col_got[c] / col_max[c] if col_max[c] > 0 else 0.0) for c in columns}
    return columns, col_max


def check_submission(
    sub: Submission,
    refs: References,
    timeout: float = DEFAULT_TIMEOUT,
    class_name: str | None = None,
) -> Row:
    """Check one student's submission; never raises for what the submission does."""
    from gradcli.learner.main import NothingToCheck, check_file, check_folder

    target = submission_target(sub)
    try:
        if target.is_dir():
            if not _is_exercises(target):
                return Row(sub.student, str(sub.path), None, error=_nothing(sub.path))
            report: FileReport | FolderReport = check_folder(
                target, timeout, class_name, refs.use_torch, display=sub.student, refs=refs
            )
        else:
            report = check_file(
                target, timeout, class_name, refs.use_torch, refs, display=target.name
            )
    except NothingToCheck as exc:
        return Row(sub.student, str(sub.path), None, error=exc.message)
    except Exception as exc:  # a gradcli bug must not end the batch: that student's row
        return Row(
            sub.student, str(sub.path), None, error=f"gradcli failed ({type(exc).__name__}: {exc})"
        )
    return Row(sub.student, str(sub.path), report)


def _nothing(path: Path) -> str:
    return (
        f"{path.name} holds nothing gradcli can grade: one .py, .ipynb or .txt file, or an "
        "exercises folder"
    )


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def grade(
    subs: Sequence[Submission],
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    use_torch: bool = True,
    policy: sandbox.Policy | None = None,
    rubric: Rubric | None = None,
    class_name: str | None = None,
    on_done: Callable[[Row], None] | None = None,
) -> Gradebook:
    """Check every submission, ``jobs`` at a time, each in its own contained child processes,
    with one set of references (and one torch import) for the whole class."""
    import time

    start = time.perf_counter()
    refs = References(use_torch=use_torch)
    refs.torch()  # imported once, here, before the threads start
    policy = policy or sandbox.Policy()
    lock = threading.Lock()

    def one(sub: Submission) -> Row:
        with sandbox.using(policy):
            row = check_submission(sub, refs, timeout, class_name)
        if on_done is not None:
            with lock:
                on_done(row)
        return row

    workers = max(1, min(jobs or default_jobs(), len(subs) or 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gradcli-grade")
    try:
        rows = list(pool.map(one, subs))
    except BaseException:  # Ctrl-C: kill the running children so the threads end now
        sandbox.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        sandbox.resume()
        raise
    pool.shutdown()
    columns, points = score(rows, rubric)
    return Gradebook(rows, columns, points, refs.describe(), time.perf_counter() - start)
