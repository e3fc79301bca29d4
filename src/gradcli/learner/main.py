"""The session of ``gradcli check`` (as pytest's main.py): collect a file or an exercise folder, run
its checks in a child process, judge them, gather one report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradcli.errors import GradcliError
from gradcli.learner import function_check as fc
from gradcli.learner.exercises import EXERCISE_FILES
from gradcli.learner.expected import References
from gradcli.learner.programs import FD_NAMES
from gradcli.learner.report import Check, ExerciseRow, FileReport, FolderReport
from gradcli.learner.runner import DEFAULT_BUDGET, DEFAULT_TIMEOUT, LoadError, Session
from gradcli.learner.value_check import ValueChecker


class NothingToCheck(GradcliError):
    """The path holds nothing gradcli knows how to check."""


def check_file(
    path: Path,
    timeout: float = DEFAULT_TIMEOUT,
    class_name: str | None = None,
    use_torch: bool = True,
    refs: References | None = None,
    display: str | None = None,
    given: dict[str, str] | None = None,
    budget: float = DEFAULT_BUDGET,
    progress: Callable[[str], None] | None = None,
    required: tuple[str, ...] = (),
    tensor_options: dict[str, Any] | None = None,
) -> FileReport:
    """Load ``path`` (a ``.py``, a notebook or an exported script) in a child process and check
    every piece it defines.

    ``given`` names roles of the class the adapter would otherwise find (``{"grad": "g"}``);
    ``budget`` bounds the whole file's time; ``required`` lists what a profile (an exercise)
    demands, so that its absence is a todo; ``tensor_options``: ``shapes``, ``double``,
    ``device`` for torch.autograd.Function checks. Raises :class:`NothingToCheck` when the file
    defines nothing gradcli knows; a file that does not load gives a report with ``load_error``.
    """
    started = time.monotonic()
    refs = refs or References(use_torch=use_torch)
    report = FileReport(display or str(path))
    try:
        _check_file(
            path,
            timeout,
            class_name,
            refs,
            report,
            given,
            budget,
            progress,
            required,
            tensor_options,
        )
    finally:
        report.duration_s = time.monotonic() - started
    return report


def _check_file(
    path: Path,
    timeout: float,
    class_name: str | None,
    refs: References,
    report: FileReport,
    given: dict[str, str] | None,
    budget: float,
    progress: Callable[[str], None] | None,
    required: tuple[str, ...],
    tensor_options: dict[str, Any] | None,
) -> None:
    report.required = bool(required)
    with Session(path, class_name, timeout, given, budget, progress) as session:
        try:
            hello = session.start()
        except LoadError as exc:
            _load_failed(report, exc)
            return
        report.source = (hello.get("source") or {}).get("kind", "python")
        report.notes += _load_notes(hello, session)
        if "missing_class" in hello:
            classes = ", ".join(hello.get("classes") or []) or "none"
            raise NothingToCheck(
                f"{report.file} has no class named {hello['missing_class']} (its classes: "
                f"{classes})",
                hint="give the class's name with --class NAME",
            )
        report.notes += hello.get("class_notes", [])
        functions = hello.get("functions", [])
        vinfo = hello.get("value_class")
        tensor_functions = hello.get("tensor_functions") or []
        if vinfo is None and not functions and not tensor_functions:
            broken = [
                u for u in hello.get("units", []) if u["kind"] in ("error", "timeout", "skipped")
            ]
            if broken:  # nothing to check because the top level failed: that is the story
                _unit_failed(report, broken[0], session.skip_reasons)
                return
            raise NothingToCheck(
                f"{report.file} defines nothing gradcli checks: no class Value and none of "
                "gradf, forward_difference, backward_difference, symmetric_difference "
                "(central_difference), softmax, nll, nor a torch.autograd.Function",
                hint="name your class Value (or give --class NAME), or start from "
                "'gradcli exercises new DIR'",
            )
        if vinfo is not None and "error" in vinfo:
            report.checks.append(_constructor_failed(vinfo))
        elif vinfo is not None:
            adapter = vinfo.get("adapter") or {}
            report.adapter = adapter.get("names", {})
            report.gaps += list(adapter.get("gaps", {}).values())
            report.notes += adapter.get("notes", [])
            checker = ValueChecker(session, vinfo, refs)
            checker.required = set(VALUE_PROFILE) if "Value" in required else set()
            ran: list[str] = []
            if "data" in report.adapter:
                vr = checker.run()
                ran = vr.ran
                report.checks += vr.checks
                report.notes += vr.notes
                report.found += vr.found
                report.skipped += vr.skipped
            said = {c.method for c in report.checks if c.status == "todo"}
            for method in required_missing(vinfo, required):
                if method in said:
                    continue
                report.checks.append(
                    Check(
                        vinfo["name"],
                        None,
                        f"{vinfo['name']}.{method}",
                        "todo",
                        message=f"not written yet: the exercise asks for {method}",
                        todo=f"{vinfo['name']}.{method}",
                        method=method,
                    )
                )
            report.not_checked = _not_checked(vinfo, report.checks, ran)
        fd_found = [n for n in FD_NAMES if n in functions]
        if fd_found:
            report.found += fd_found
            sym = "symmetric_difference" in fd_found or "central_difference" in fd_found
            for n in ("forward_difference", "backward_difference"):
                if n not in fd_found:
                    report.skipped.append(n)
            if not sym:
                report.skipped.append("symmetric_difference")
            for n in fd_found:
                report.checks += fc.check_fd(session, n)
        if "gradf" in functions:
            report.found.append("gradf")
            report.checks += fc.check_gradf(session, refs)
        if "softmax" in functions or "nll" in functions:
            fv = hello.get("function_value")
            own = fv is not None
            value_from = fv["from"] if fv is not None else "gradcli"
            if fv is not None:
                report.notes.append(
                    f"softmax and nll were given Values of {fv['name']} from {value_from}"
                )
            for n in ("softmax", "nll"):
                (report.found if n in functions else report.skipped).append(n)
            if "softmax" in functions:
                checks, notes = fc.check_softmax(session, refs, "nll" in functions, own, value_from)
                report.checks += checks
                report.notes += notes
            if "nll" in functions:
                report.checks += fc.check_nll(session, refs, own, value_from)
            fc.link_softmax(report.checks)
        if tensor_functions:  # torch.autograd.Function subclasses
            from gradcli.learner.tensor_judge import check_functions

            report.found += tensor_functions
            checks, notes = check_functions(session, tensor_functions, **(tensor_options or {}))
            report.checks += checks
            report.notes += notes
        for fn in required:  # the profile's functions the file does not define
            have = fn in functions or (
                fn == "symmetric_difference" and "central_difference" in functions
            )
            if fn != "Value" and not have:
                report.checks.append(
                    Check(
                        fn,
                        None,
                        f"{fn} is defined",
                        "todo",
                        message=f"not written yet: the exercise asks for {fn}",
                        todo=fn,
                    )
                )
        for target in dict.fromkeys(c.target for c in report.checks if c.status == "skipped"):
            first = next(c for c in report.checks if c.target == target and c.status == "skipped")
            report.notes.append(first.message)
        _link_to_value(report.checks)
        if "budget" in session.stopped.get("*", ""):
            skipped = sum(c.status == "not_run" for c in report.checks)
            report.notes.insert(
                0,
                f"the time budget of {budget:g} s ran out: {skipped} checks were not run "
                "(--budget S gives more)",
            )
        if session.printed:
            report.notes.append(
                f"your code printed {session.printed:,} characters while it was checked (not shown)"
            )
    report.reference = refs.describe()
    if vinfo is None and not functions:  # only torch.autograd.Functions
        report.reference = "the float64 numerical derivative of your own forward"
    for d in refs.disagreements:
        report.notes.append(f"gradcli and PyTorch disagree on {d} (please report this)")


def _link_to_value(checks: list[Check]) -> None:
    """softmax that is right with gradcli's Value but wrong with the file's own: blame the
    Value method its call trace went through and that fails on its own (``exp``), not the
    whole class."""
    from gradcli.learner.programs import blame_label

    own: dict[str, Check] = {}
    for c in checks:
        if (
            c.status == "fail"
            and c.consequence_of is None
            and c.op not in (None, "backward")
            and c.method
            and c.blame == blame_label(c.op, c.method)
        ):
            own.setdefault(c.method, c)
    for c in checks:
        if c.consequence_of != "Value":
            continue
        cause = next((own[m] for m in c.calls if m in own), None)
        if cause is not None and cause.blame:
            c.consequence_of = cause.blame
            c.hint = (
                f"{c.name}: {c.target} itself is right (it passes with gradcli's Value); it "
                f"fails because {cause.blame} fails: fix {cause.blame} first"
            )


def _load_notes(hello: dict[str, Any], session: Session) -> list[str]:
    """What did not load, one note per cell (or top-level statement), in document order."""
    notes = list(hello.get("problems", []))
    by_place: dict[str, list[dict[str, Any]]] = {}
    for u in hello.get("units", []):
        place = f"cell {u['cell']}" if u.get("cell") else f"line {u['where'].split()[-1]}"
        by_place.setdefault(place, []).append(u)
    for place, units in by_place.items():
        u = units[0]
        what = f"({u['text']})" if u.get("text") else ""
        inner = f", line {u['where'].split()[-1]}" if u.get("cell") else ""
        if u["kind"] == "timeout":
            why = f"did not finish within {u['limit']:g} s"
        elif u["kind"] == "skipped":
            why = session.skip_reasons.get(int(u["unit"]), "stopped the process")
        else:
            err = u.get("error") or {}
            msg = err.get("message", "")
            why = f"raised {err.get('type', 'an error')}{': ' + msg if msg else ''}"
            hint = _load_hint(err)
            if hint:
                why += f" ({hint})"
        more = f"; {len(units) - 1} more statement(s) there failed too" if len(units) > 1 else ""
        notes.append(f"{place}{inner} {what} {why}: skipped{more}".replace("  ", " "))
    return notes


def _unit_failed(report: FileReport, u: dict[str, Any], reasons: dict[int, str]) -> None:
    from gradcli.learner.diagnose import error_text

    where = f"cell {u['cell']}, " if u.get("cell") else ""
    line = u["where"].split()[-1]
    if u["kind"] == "skipped":
        why = reasons.get(int(u["unit"]), "stopped the process")
        report.load_error = f"{report.file} does not load: {where}line {line} ({u['text']}): {why}"
        return
    if u["kind"] == "timeout":
        report.load_error = (
            f"{report.file} does not load: {where}line {line} ({u['text']}) did not finish "
            f"within {u['limit']:g} s (a loop at the top level? put it under "
            "if __name__ == '__main__':)"
        )
        return
    err = u.get("error") or {}
    if err.get("type") == "NotImplementedError":
        report.load_todo = True
    hint = _load_hint(err)
    report.load_error = f"{report.file} does not load: it {error_text(err)}" + (
        f" ({hint})" if hint else ""
    )
    report.load_traceback = err.get("traceback", "")


def _load_hint(err: dict[str, Any]) -> str:
    """A known fix for an error at load time."""
    msg = err.get("message", "")
    if err.get("type") == "NameError" and "is not defined" in msg:
        return (
            "if it is a type hint naming the class inside its own body, add "
            "'from __future__ import annotations' at the top; otherwise the cell defining it "
            "comes later or failed"
        )
    if err.get("type") == "ModuleNotFoundError":
        return "install it, or it is not needed for the checks"
    return ""


def _constructor_failed(vinfo: dict[str, Any]) -> Check:
    from gradcli.learner.diagnose import error_text, todo_text, todo_what

    err = vinfo["error"]
    name = vinfo["name"]
    if err.get("type") == "NotImplementedError":
        return Check(
            name,
            None,
            f"{name}(2.0)",
            "todo",
            message=f"not written yet: {todo_text(err)}",
            todo=todo_what(err),
            method="__init__",
        )
    text = error_text(err)
    return Check(
        name,
        None,
        f"{name}(2.0)",
        "fail",
        message=text,
        hint=(
            f"{name}(2.0) {text}: gradcli makes each input as {name}(number); nothing else "
            "could be checked"
        ),
        blame="__init__",
        method="__init__",
        traceback=err.get("traceback", ""),
    )


#: what each exercise file must define: its absence is todo, so an exercise is done only when
#: all of it is written (value.py's methods: VALUE_PROFILE)
PROFILES: dict[str, tuple[str, ...]] = {
    "gradient.py": ("gradf",),
    "derivatives.py": ("forward_difference", "symmetric_difference"),
    "value.py": ("Value",),
    "softmax.py": ("softmax", "nll"),
}

#: what the exercises' value.py asks for (its task: numbers must work on both sides)
VALUE_PROFILE = (
    "__add__",
    "__mul__",
    "__pow__",
    "__neg__",
    "__sub__",
    "__truediv__",
    "__radd__",
    "__rmul__",
    "__rsub__",
    "__rtruediv__",
    "exp",
    "log",
    "tanh",
    "relu",
    "backward",
)


def required_missing(vinfo: dict[str, Any], required: tuple[str, ...]) -> list[str]:
    """The methods a profile asks for that the class does not have at all."""
    if "Value" not in required:
        return []
    have = set(vinfo.get("own", [])) | {
        m
        for m in VALUE_PROFILE
        if m in set(vinfo.get("features", [])) | set(vinfo.get("methods", []))
    }
    names = (vinfo.get("adapter") or {}).get("names", {})
    if "backward" in names:
        have.add("backward")
    return [m for m in VALUE_PROFILE if m not in have]


#: methods no check is about: said as such, not as a gap
_PLAIN = {
    "__init__",
    "__repr__",
    "__str__",
    "__hash__",
    "__eq__",
    "__lt__",
    "__gt__",
    "__le__",
    "__ge__",
    "__bool__",
    "__float__",
    "__format__",
    "zero_grad",
    "__iter__",
}


def _not_checked(
    vinfo: dict[str, Any], checks: list[Check], backward_ran: list[str]
) -> dict[str, str]:
    """Every method the learner wrote that no check went through, and why."""
    ran: set[str] = set(backward_ran)
    for c in checks:
        if c.method:
            ran.add(c.method)
        ran.update(c.calls)
    names = (vinfo.get("adapter") or {}).get("names", {})
    ran.update(v for k, v in names.items() if k in ("backward", "step") and v)
    out = {}
    for m in vinfo.get("own", []):
        if m in ran:
            continue
        if m in _PLAIN:
            out[m] = "not a derivative rule"
        else:
            out[m] = "no check uses it (an operation gradcli does not know)"
    return out


def _load_failed(report: FileReport, exc: LoadError) -> None:
    from gradcli.learner.diagnose import error_text

    if exc.info is None:
        report.load_error = f"{report.file} does not load: {exc.reason}"
        return
    if exc.info.get("type") == "SourceError":
        report.load_error = f"{report.file} does not load: {exc.info.get('message', '')}"
        return
    if exc.info.get("type") == "NotImplementedError":
        report.load_todo = True
    report.load_error = f"{report.file} does not load: it {error_text(exc.info)}"
    report.load_traceback = exc.info.get("traceback", "")


def check_folder(
    directory: Path,
    timeout: float = DEFAULT_TIMEOUT,
    class_name: str | None = None,
    use_torch: bool = True,
    display: str | None = None,
    refs: References | None = None,
) -> FolderReport:
    """Every exercise file in ``directory``: one row each (a missing file is ``todo``)."""
    shown = display or str(directory)
    if not any((directory / f).is_file() for _n, _t, f in EXERCISE_FILES):
        raise NothingToCheck(
            f"{shown} holds none of the exercise files "
            f"({', '.join(f for _n, _t, f in EXERCISE_FILES)})",
            hint=f"start them with: gradcli exercises new {shown}",
        )
    refs = refs or References(use_torch=use_torch)  # grade shares one for the whole class
    rows = []
    for number, title, fname in EXERCISE_FILES:
        path = directory / fname
        report = None
        if path.is_file():
            name = class_name if fname == "value.py" else None  # --class is value.py's
            required = PROFILES.get(fname, ())  # what the exercise asks this file for
            try:
                report = check_file(
                    path, timeout, name, use_torch, refs, display=fname, required=required
                )
            except NothingToCheck as exc:
                report = FileReport(fname, load_error=exc.message)
        rows.append(ExerciseRow(number, title, fname, report))
    return FolderReport(shown, rows)
