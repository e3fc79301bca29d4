"""The results of ``gradcli check``: one :class:`Check` per thing checked, gathered per file
(:class:`FileReport`) and per exercise folder (:class:`FolderReport`), with their JSON forms."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Check:
    """One check of the learner's code.

    ``status`` is finer than ``passed``: ``"pass"``, ``"fail"``, ``"todo"`` (the code raises
    NotImplementedError: not written yet) or ``"not_run"`` (something it needs hung or crashed
    earlier). ``blame`` is what to fix (an op-table name, ``"backward"``, a function name, or
    ``"Value"``); ``consequence_of`` is set when this check fails only because that other part
    fails. ``traceback`` (the learner's frames only) is shown, not put in the JSON.
    """

    target: str
    op: str | None
    name: str
    status: str
    expected: float | None = None
    got: float | None = None
    message: str = ""
    hint: str | None = None
    consequence_of: str | None = None
    blame: str | None = None
    traceback: str = ""
    file: str | None = None
    todo: str = ""  # what is not written yet, and where: "gradf (gradient.py, line 28)"
    method: str | None = None  # the learner's method the check enters through: "__radd__"
    calls: list[str] = field(default_factory=list)  # the learner's functions that ran

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def is_gradient(self) -> bool:
        """Does this check compare a derivative (a grad, a rule, a difference, gradf)?"""
        name = self.name
        return (
            name.startswith(("d(", "d ", "gradient of", "gradf", "backward()"))
            or "_backward alone" in name
            or self.target in ("forward_difference", "backward_difference", "symmetric_difference")
            or (self.target == "nll" and self.status in ("pass", "fail"))
            or "backward" in name
        )

    @property
    def group(self) -> str:
        """What the check is about, as tables group it: ``mul``, ``mul (__rmul__)``,
        ``backward``, ``softmax``."""
        if self.op in (None, "backward") or not self.method:
            return self.op or self.target
        from gradcli.learner.programs import blame_label

        return blame_label(self.op, self.method)

    @property
    def id(self) -> str:
        """A stable id: the same check has the same id in every run and every file."""
        return f"{self.target}::{self.name}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "target": self.target,
            "op": self.op,
            "method": self.method,
            "name": self.name,
            "status": STATUS_WORDS[self.status],
            "passed": self.passed,
            "expected": _finite(self.expected),
            "got": _finite(self.got),
            "message": self.message,
            "hint": self.hint,
            "consequence_of": self.consequence_of,
            "blame": self.blame if self.status in ("fail", "not_run") else None,
        }
        out["todo"] = self.todo or None
        if self.file is not None:
            out["file"] = self.file
        return out


#: the status of a check as the JSON spells it
STATUS_WORDS = {
    "pass": "passed",
    "fail": "failed",
    "todo": "todo",
    "not_run": "not_run",
    "skipped": "skipped",  # gradcli could not check it (another signature): said, not judged
}

#: the version of the JSON report; bumped whenever a key changes meaning or goes away
SCHEMA = 2


def _finite(x: float | None) -> float | None:
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


@dataclass
class Cause:
    """One thing to fix: what it is blamed on, the first check that shows it (its hint and the
    learner's traceback), and the checks that fail only because of it, counted per group."""

    blame: str
    check: Check
    followers: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "blame": self.blame,
            "hint": self.check.hint or f"{self.check.name}: {self.check.message}",
            "check": self.check.id,
            "also_failing": self.followers,
        }


def find_causes(checks: list[Check]) -> list[Cause]:
    """The one root-cause pass: each failure that is no consequence, once per blame, in the
    order found; then causes outside the file (the Value class another file defines, which
    softmax uses) that consequences point to."""
    shown: dict[str, Cause] = {}
    for c in checks:
        if c.status == "fail" and c.consequence_of is None:
            key = c.blame or c.op or c.target
            shown.setdefault(key, Cause(key, c))
    for c in checks:
        cause = c.consequence_of
        if c.status == "fail" and cause and cause not in shown:
            shown[cause] = Cause(cause, c)
    for c in checks:
        if c.status in ("fail", "not_run") and c.consequence_of in shown:
            group = c.group
            f = shown[c.consequence_of].followers
            f[group] = f.get(group, 0) + 1
    return list(shown.values())


@dataclass
class FileReport:
    """Everything ``gradcli check FILE`` found in one file."""

    file: str
    found: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reference: str = ""  # what the expected values came from, in words
    load_error: str | None = None  # the file did not load: why (one line)
    load_traceback: str = ""
    load_todo: bool = False  # it did not load because it raised NotImplementedError
    source: str = "python"  # "python", "notebook", "export" or "objects"
    adapter: dict[str, Any] = field(default_factory=dict)  # the roles, by the learner's names
    gaps: list[str] = field(default_factory=list)  # what could not be checked, and why
    not_checked: dict[str, str] = field(default_factory=dict)  # method -> why not checked
    duration_s: float = 0.0
    required: bool = False  # a profile (an exercise) demands what the file lacks

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def failed(self) -> int:
        return sum(c.status in ("fail", "not_run") for c in self.checks)

    @property
    def todo_count(self) -> int:
        return sum(c.status == "todo" for c in self.checks)

    @property
    def judged(self) -> bool:
        return any(c.status != "skipped" for c in self.checks)

    def causes(self) -> list[Cause]:
        return find_causes(self.checks)

    @property
    def root_causes(self) -> list[str]:
        """What to fix, each once, in the order the checks found them."""
        return [c.blame for c in self.causes()]

    @property
    def gradients_checked(self) -> bool:
        """Did any check compare a gradient (not only values)?"""
        return any(c.status in ("pass", "fail") and c.is_gradient for c in self.checks)

    @property
    def status(self) -> str:
        """``done``, ``wrong`` (a check failed), ``todo`` (something is not written yet, or
        nothing could be checked) or ``error`` (the file did not load)."""
        if self.load_todo:
            return "todo"
        if self.load_error is not None:
            return "error"
        if any(c.status in ("fail", "not_run") for c in self.checks):
            return "wrong"
        if any(c.status == "todo" for c in self.checks) or not self.judged:
            return "todo"
        return "done"

    @property
    def exit_failed(self) -> bool:
        """Does this report mean exit code 1 for ``gradcli check FILE``? Only a failed check
        (a todo or a gap in coverage is said, with exit 0), or a todo the profile demands."""
        if self.status == "wrong":
            return True
        return self.required and self.status == "todo"

    def first_hint(self, short: bool = False) -> str:
        """The next thing to do, in one line (``short``: for the progress table)."""
        if self.load_error is not None:
            return self.load_error
        causes = self.causes()
        if causes:
            c = causes[0].check
            return c.hint or f"{c.name}: {c.message}"
        for c in self.checks:
            if c.status == "not_run":
                return c.hint or f"{c.name}: {c.message}"
        for c in self.checks:
            if c.status == "todo":
                return f"write {c.todo}" if short and c.todo else c.message
        if not self.checks:
            return "nothing was checked: " + ("; ".join(self.gaps) or "see the notes")
        if not self.gradients_checked:
            return "the values are right; no gradient was checked" + (
                f": {self.gaps[0]}" if self.gaps else ""
            )
        return "all checks pass"

    def coverage(self) -> dict[str, Any]:
        checked = sorted({c.method for c in self.checks if c.method})
        return {
            "checks": len(self.checks),
            "gradients_checked": self.gradients_checked,
            "methods_checked": checked,
            "not_checked": dict(self.not_checked),
            "gaps": list(self.gaps),
        }

    def to_json(self) -> dict[str, Any]:
        causes = self.causes()
        return {
            "schema": SCHEMA,
            "file": self.file,
            "source": self.source,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "adapter": self.adapter,
            "found": self.found,
            "skipped": self.skipped,
            "checks": [c.to_json() for c in self.checks],
            "root_causes": [c.blame for c in causes],
            "causes": [c.to_json() for c in causes],
            "coverage": self.coverage(),
            "notes": self.notes,
            "load_error": self.load_error,
            "passed": self.passed,
            "failed": self.failed,
            "todo": self.todo_count,
        }


@dataclass
class ExerciseRow:
    number: str
    exercise: str
    file: str
    report: FileReport | None  # None: the file does not exist yet

    @property
    def status(self) -> str:
        return "todo" if self.report is None else self.report.status

    def next_hint(self) -> str:
        if self.report is None:
            return f"create {self.file} (gradcli exercises new DIR writes a starter)"
        return self.report.first_hint(short=True)


@dataclass
class FolderReport:
    """``gradcli check DIR``: one row per exercise file."""

    directory: str
    rows: list[ExerciseRow]

    @property
    def reports(self) -> list[FileReport]:
        return [r.report for r in self.rows if r.report is not None]

    @property
    def todo(self) -> int:
        return sum(r.status == "todo" for r in self.rows)

    @property
    def status(self) -> str:
        statuses = [r.status for r in self.rows]
        for s in ("error", "wrong", "todo"):
            if s in statuses:
                return s
        return "done"

    @property
    def done(self) -> bool:
        return all(r.status == "done" for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        checks: list[dict[str, Any]] = []
        found: list[str] = []
        skipped: list[str] = []
        notes: list[str] = []
        roots: list[str] = []
        causes: list[dict[str, Any]] = []
        for rep in self.reports:
            for c in rep.checks:
                c.file = rep.file
                checks.append(c.to_json())
            found += [f"{rep.file}: {x}" for x in rep.found]
            skipped += [f"{rep.file}: {x}" for x in rep.skipped]
            notes += [f"{rep.file}: {x}" for x in rep.notes]
            if rep.load_error is not None:
                notes.append(f"{rep.file}: {rep.load_error}")
            for cause in rep.causes():
                if cause.blame not in roots:
                    roots.append(cause.blame)
                    causes.append({**cause.to_json(), "file": rep.file})
        return {
            "schema": SCHEMA,
            "directory": self.directory,
            "status": self.status,
            "exercises": [
                {
                    "exercise": f"{r.number} {r.exercise}",
                    "file": r.file,
                    "status": r.status,
                    "passed": r.report.passed if r.report else 0,
                    "failed": r.report.failed if r.report else 0,
                }
                for r in self.rows
            ],
            "todo": self.todo,
            "found": found,
            "skipped": skipped,
            "checks": checks,
            "root_causes": roots,
            "causes": causes,
            "notes": notes,
            "duration_s": round(sum(r.duration_s for r in self.reports), 3),
            "passed": sum(r.passed for r in self.reports),
            "failed": sum(r.failed for r in self.reports),
        }
