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

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "op": self.op,
            "name": self.name,
            "passed": self.passed,
            "expected": _finite(self.expected),
            "got": _finite(self.got),
            "message": self.message,
            "hint": self.hint,
            "consequence_of": self.consequence_of,
        }
        if self.file is not None:
            out["file"] = self.file
        return out


def _finite(x: float | None) -> float | None:
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


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

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def failed(self) -> int:
        return sum(not c.passed for c in self.checks)

    @property
    def root_causes(self) -> list[str]:
        """What to fix, each once, in the order the checks found them: what the failures that
        are no consequence blame, and what the consequences point to outside this file (the
        Value class another file defines, for softmax)."""
        out: list[str] = []
        for c in self.checks:
            if c.status == "fail" and c.consequence_of is None:
                blame = c.blame or c.op or c.target
                if blame not in out:
                    out.append(blame)
        for c in self.checks:
            if c.status in ("fail", "not_run") and c.consequence_of and c.consequence_of not in out:
                out.append(c.consequence_of)
        return out

    @property
    def status(self) -> str:
        """``"done"``, ``"todo"`` (something still raises NotImplementedError) or ``"wrong"``."""
        if self.load_todo:
            return "todo"
        if self.load_error is not None:
            return "wrong"
        if any(c.status in ("fail", "not_run") for c in self.checks):
            return "wrong"
        if any(c.status == "todo" for c in self.checks) or not self.checks:
            return "todo"
        return "done"

    def first_hint(self, short: bool = False) -> str:
        """The next thing to do, in one line (``short``: for the progress table)."""
        if self.load_error is not None:
            return self.load_error
        for c in self.checks:
            if c.status == "fail" and c.consequence_of is None:
                return c.hint or f"{c.name}: {c.message}"
        for c in self.checks:
            if c.status in ("fail", "not_run"):
                return c.hint or f"{c.name}: {c.message}"
        for c in self.checks:
            if c.status == "todo":
                return f"write {c.todo}" if short and c.todo else c.message
        return "all checks pass"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "found": self.found,
            "skipped": self.skipped,
            "checks": [c.to_json() for c in self.checks],
            "root_causes": self.root_causes,
            "notes": self.notes,
            "passed": self.passed,
            "failed": self.failed,
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
    def done(self) -> bool:
        return all(r.status == "done" for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        checks: list[dict[str, Any]] = []
        found: list[str] = []
        skipped: list[str] = []
        notes: list[str] = []
        roots: list[str] = []
        for rep in self.reports:
            for c in rep.checks:
                c.file = rep.file
                checks.append(c.to_json())
            found += [f"{rep.file}: {x}" for x in rep.found]
            skipped += [f"{rep.file}: {x}" for x in rep.skipped]
            notes += [f"{rep.file}: {x}" for x in rep.notes]
            if rep.load_error is not None:
                notes.append(f"{rep.file}: {rep.load_error}")
            roots += [r for r in rep.root_causes if r not in roots]
        return {
            "directory": self.directory,
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
            "notes": notes,
            "passed": sum(r.passed for r in self.reports),
            "failed": sum(r.failed for r in self.reports),
        }
