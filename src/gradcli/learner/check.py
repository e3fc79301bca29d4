"""``gradcli check``: one file, or an exercise folder, checked in a child process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradcli.errors import GradcliError
from gradcli.learner import function_check as fc
from gradcli.learner.exercises import EXERCISE_FILES
from gradcli.learner.expected import References
from gradcli.learner.programs import FD_NAMES
from gradcli.learner.report import ExerciseRow, FileReport, FolderReport
from gradcli.learner.runner import DEFAULT_TIMEOUT, LoadError, Session
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
    tensor_options: dict[str, Any] | None = None,
) -> FileReport:
    """Load ``path`` in a child process and check every piece it defines.

    ``tensor_options``: ``shapes``, ``double``, ``device`` for torch.autograd.Function checks.

    Raises :class:`NothingToCheck` when the file defines nothing gradcli knows; a file that does
    not load gives a report with ``load_error`` set (the caller decides what that means).
    """
    refs = refs or References(use_torch=use_torch)
    report = FileReport(display or str(path))
    with Session(path, class_name, timeout) as session:
        try:
            hello = session.start()
        except LoadError as exc:
            _load_failed(report, exc)
            return report
        if "missing_class" in hello:
            classes = ", ".join(hello.get("classes") or []) or "none"
            raise NothingToCheck(
                f"{report.file} has no class named {hello['missing_class']} (its classes: "
                f"{classes})",
                hint="give the class's name with --class NAME",
            )
        functions = hello.get("functions", [])
        vinfo = hello.get("value_class")
        tensor_functions = hello.get("tensor_functions") or []  # issue 19
        if vinfo is None and not functions and not tensor_functions:
            raise NothingToCheck(
                f"{report.file} defines nothing gradcli checks: no class Value and none of "
                "gradf, forward_difference, backward_difference, symmetric_difference "
                "(central_difference), softmax, nll, nor a torch.autograd.Function",
                hint="name your class Value (or give --class NAME), or start from "
                "'gradcli exercises new DIR'",
            )
        if vinfo is not None:
            vr = ValueChecker(session, vinfo, refs).run()
            report.checks += vr.checks
            report.notes += vr.notes
            report.found += vr.found
            report.skipped += vr.skipped
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
                report.checks += fc.check_nll(session, refs)
            fc.link_softmax(report.checks)
        if tensor_functions:  # issue 19: torch.autograd.Function subclasses
            from gradcli.learner.tensor_judge import check_functions

            report.found += tensor_functions
            checks, notes = check_functions(session, tensor_functions, **(tensor_options or {}))
            report.checks += checks
            report.notes += notes
        if session.printed:
            report.notes.append(
                f"your code printed {session.printed:,} characters while it was checked (not shown)"
            )
    report.reference = refs.describe()
    if vinfo is None and not functions:  # issue 19: only Functions
        report.reference = "the float64 numerical derivative of your own forward"
    for d in refs.disagreements:
        report.notes.append(f"gradcli and PyTorch disagree on {d} (please report this)")
    return report


def _load_failed(report: FileReport, exc: LoadError) -> None:
    from gradcli.learner.diagnose import error_text

    if exc.info is None:
        report.load_error = f"{report.file} does not load: {exc.reason}"
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
) -> FolderReport:
    """Every exercise file in ``directory``: one row each (a missing file is ``todo``)."""
    shown = display or str(directory)
    if not any((directory / f).is_file() for _n, _t, f in EXERCISE_FILES):
        raise NothingToCheck(
            f"{shown} holds none of the exercise files "
            f"({', '.join(f for _n, _t, f in EXERCISE_FILES)})",
            hint=f"start them with: gradcli exercises new {shown}",
        )
    refs = References(use_torch=use_torch)
    rows = []
    for number, title, fname in EXERCISE_FILES:
        path = directory / fname
        report = None
        if path.is_file():
            name = class_name if fname == "value.py" else None  # --class is value.py's
            try:
                report = check_file(path, timeout, name, use_torch, refs, display=fname)
            except NothingToCheck as exc:
                report = FileReport(fname, load_error=exc.message)
        rows.append(ExerciseRow(number, title, fname, report))
    return FolderReport(shown, rows)
