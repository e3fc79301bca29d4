"""``gradcli.check(...)``: check a Value class, functions or a file from Python or a notebook.

Objects defined in the live kernel are checked **in a child process**, never in the kernel: the
probes patch the class, and an endless ``backward()`` must not freeze the notebook. They travel
by value (cloudpickle: ``pip install 'gradcli[notebook]'``), with the kernel's working
directory on the child's path so that a module beside the notebook imports there too.

The result renders in Jupyter (``_repr_mimebundle_``: HTML and plain text) and in a terminal
(``__rich__``, ``__repr__``); a fault in the learner's code (a crash, a hang, an exit, a class
that cannot be sent) is in the report, never an exception.
"""

from __future__ import annotations

import io
import linecache
import os
import pickle
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from gradcli.learner import sandbox as containment
from gradcli.learner.expected import References
from gradcli.learner.main import NothingToCheck, check_file, check_folder
from gradcli.learner.objects import VERSION
from gradcli.learner.programs import FUNCTION_NAMES
from gradcli.learner.report import FileReport, FolderReport
from gradcli.learner.runner import DEFAULT_TIMEOUT

#: the roles ``check`` takes by keyword
ROLES = ("Value", *FUNCTION_NAMES)

EXAMPLE = (
    "e.g. check(Value), check(Value, softmax=softmax, nll=nll), "
    "check(forward_difference=forward_difference) or check('value.py')"
)

NOTEBOOK_EXTRA = "pip install 'gradcli[notebook]'"

_refs: dict[bool, References] = {}
_refs_lock = threading.Lock()


def _references(use_torch: bool) -> References:
    """One set of expected values per kernel: a second check() reuses the first one's."""
    with _refs_lock:
        if use_torch not in _refs:
            _refs[use_torch] = References(use_torch=use_torch)
        return _refs[use_torch]


class CheckResult:
    """What ``check`` found: ``.passed``, ``.failed``, ``.root_causes``, ``.status``,
    ``.to_json()``, and ``.report`` (the :class:`FileReport` or :class:`FolderReport`)."""

    def __init__(self, report: FileReport | FolderReport) -> None:
        self.report = report
        for rep in report.reports if isinstance(report, FolderReport) else [report]:
            # the references' words name the CLI's option; here it is check()'s argument
            rep.reference = rep.reference.replace("(--no-torch)", "(torch=True adds it)")

    @property
    def passed(self) -> int:
        if isinstance(self.report, FolderReport):
            return sum(r.passed for r in self.report.reports)
        return self.report.passed

    @property
    def failed(self) -> int:
        if isinstance(self.report, FolderReport):
            return sum(r.failed for r in self.report.reports)
        return self.report.failed

    @property
    def root_causes(self) -> list[str]:
        if isinstance(self.report, FolderReport):
            out: list[str] = []
            for r in self.report.reports:
                out += [c for c in r.root_causes if c not in out]
            return out
        return self.report.root_causes

    @property
    def status(self) -> str:
        """``done``, ``wrong``, ``todo``, or ``error`` (did not load)."""
        rep = self.report
        if isinstance(rep, FolderReport):
            if rep.done:
                return "done"
            return "wrong" if any(r.status == "wrong" for r in rep.rows) else "todo"
        if rep.load_error is not None and not rep.load_todo:
            return "error"
        return rep.status

    @property
    def ok(self) -> bool:
        """Every check passes."""
        return self.status == "done"

    def to_json(self) -> dict[str, Any]:
        return self.report.to_json()

    def __rich__(self) -> Any:
        from gradcli.render.check import render_file, render_folder

        if isinstance(self.report, FolderReport):
            return render_folder(self.report)
        return render_file(self.report)

    def __repr__(self) -> str:
        from gradcli.render.grade import plain

        return plain(self.__rich__()).rstrip("\n")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from rich.console import Console

        console = Console(
            record=True,
            width=100,
            file=io.StringIO(),
            force_jupyter=False,
            force_terminal=True,
            color_system="truecolor",
        )
        console.print(self.__rich__())
        html = console.export_html(inline_styles=True, code_format=_HTML)
        return {"text/plain": repr(self), "text/html": html}


_HTML = (
    '<pre style="white-space:pre;overflow-x:auto;line-height:normal;'
    "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>"
)


def check(
    *objects: Any,
    timeout: float = DEFAULT_TIMEOUT,
    torch: bool | None = None,
    sandbox: bool = False,
    **roles: Any,
) -> CheckResult:
    """Check a Value class, the exercise's functions, or a file, in a child process.

    ``check(Value)``, ``check(Value, softmax=softmax, nll=nll, gradf=gradf)``,
    ``check(forward_difference=fd)``, ``check("value.py")``, ``check("hw.ipynb")``,
    ``check("exercises/")``. ``torch``: compare with PyTorch too (default: when the kernel has
    imported it already). ``sandbox``: run the child in bubblewrap. Never raises for what the
    learner's code does; misuse is a :class:`TypeError` or :class:`ValueError`.
    """
    path, live = _arguments(objects, roles)
    if not (isinstance(timeout, (int, float)) and 0 < timeout <= 3600):
        raise ValueError(
            f"timeout={timeout!r}: give seconds above 0 (at most 3600), e.g. timeout=5"
        )
    use_torch = ("torch" in sys.modules) if torch is None else bool(torch)
    refs = _references(use_torch)
    policy = containment.Policy(sandbox=sandbox and containment.bwrap_problem() is None)
    if sandbox and not policy.sandbox:
        sys.stderr.write(f"gradcli: sandbox: {containment.bwrap_problem()}; running without it\n")
    if path is not None:
        return _check_path(path, timeout, refs, policy)
    return _check_live(live, timeout, refs, policy)


def _arguments(
    objects: tuple[Any, ...], roles: dict[str, Any]
) -> tuple[Path | None, dict[str, Any]]:
    if not objects and not roles:
        raise TypeError(f"check() needs something to check: {EXAMPLE}")
    unknown = [k for k in roles if k not in ROLES]
    if unknown:
        raise TypeError(
            f"check() got an unknown role {unknown[0]!r}; the roles are {', '.join(ROLES)} "
            f"({EXAMPLE})"
        )
    live = dict(roles)
    path: Path | None = None
    for obj in objects:
        if isinstance(obj, (str, os.PathLike)):
            if path is not None or live:
                raise TypeError(f"check() takes one file, or objects, not both: {EXAMPLE}")
            path = Path(obj)
            if not path.exists():
                raise ValueError(f"check({str(obj)!r}): no such file or folder")
        elif isinstance(obj, type):
            if "Value" in live:
                raise TypeError(f"check() got two classes to check; give one: {EXAMPLE}")
            live["Value"] = obj
        elif callable(obj) and getattr(obj, "__name__", "") in FUNCTION_NAMES:
            live[obj.__name__] = obj
        elif callable(obj):
            raise TypeError(
                f"check() does not know what {getattr(obj, '__name__', obj)!r} is: give it by its "
                f"role, e.g. check(forward_difference={getattr(obj, '__name__', 'f')}) (roles: "
                f"{', '.join(FUNCTION_NAMES)})"
            )
        else:
            what = type(obj).__name__
            hint = " (an instance: pass its class, check(type(v)))" if hasattr(obj, "data") else ""
            raise TypeError(
                f"check() takes a class, a function or a path, not a {what}{hint}: {EXAMPLE}"
            )
    if path is not None and live:
        raise TypeError(f"check() takes one file, or objects, not both: {EXAMPLE}")
    if "Value" in live and not isinstance(live["Value"], type):
        raise TypeError(
            f"check(Value=...) takes a class, not a {type(live['Value']).__name__}: {EXAMPLE}"
        )
    for name in FUNCTION_NAMES:
        if name in live and not callable(live[name]):
            raise TypeError(
                f"check({name}=...) takes a function, not a {type(live[name]).__name__}"
            )
    return path, live


def _check_path(
    path: Path, timeout: float, refs: References, policy: containment.Policy
) -> CheckResult:
    with containment.using(policy):
        try:
            if path.is_dir():
                return CheckResult(
                    check_folder(path, timeout, None, refs.use_torch, str(path), refs=refs)
                )
            return CheckResult(check_file(path, timeout, None, refs.use_torch, refs, str(path)))
        except NothingToCheck as exc:
            return CheckResult(FileReport(str(path), load_error=exc.one_line()))


def _check_live(
    live: dict[str, Any], timeout: float, refs: References, policy: containment.Policy
) -> CheckResult:
    shown = ", ".join(getattr(v, "__name__", k) if k == "Value" else k for k, v in live.items())
    display = f"{shown} (from this session)"
    scratch = Path(tempfile.mkdtemp(prefix="gradcli-live-"))
    try:
        target = scratch / "objects.pkl"
        problem = _write(target, live)
        if problem is not None:
            return CheckResult(FileReport(display, load_error=problem))
        cls = live.get("Value")
        with containment.using(policy.with_paths(os.getcwd(), scratch)):
            try:
                report = check_file(
                    target,
                    timeout,
                    cls.__name__ if cls is not None else None,
                    refs.use_torch,
                    refs,
                    display,
                )
            except NothingToCheck as exc:
                report = FileReport(display, load_error=exc.one_line())
        return CheckResult(report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write(target: Path, live: dict[str, Any]) -> str | None:
    """Pickle the header and the roles; None, or why they cannot be sent (in words)."""
    try:
        import cloudpickle
    except ImportError:
        raise ImportError(
            "gradcli.check() sends objects defined in this session to a child process with "
            f"cloudpickle, which is not installed: {NOTEBOOK_EXTRA} (or pip install cloudpickle)"
            "; check('value.py') needs no extra"
        ) from None
    codes = _code_names(live)
    files = sorted(set(codes.values()))
    header = {
        "version": VERSION,
        "path": [os.getcwd()],
        "files": files,
        "codes": codes,
        "sources": {f: linecache.getlines(f) for f in files if linecache.getlines(f)},
    }
    try:
        data = cloudpickle.dumps(live, protocol=pickle.DEFAULT_PROTOCOL)
    except Exception as exc:  # the learner's objects: their fault goes in the report
        names = ", ".join(live)
        return (
            f"{names} could not be sent to the child process ({type(exc).__name__}: {exc}); "
            "an attribute of the class (an open file, a lock, a generator) that cannot be "
            "pickled is the usual cause"
        )
    with open(target, "wb") as f:
        pickle.dump(header, f, protocol=pickle.DEFAULT_PROTOCOL)
        f.write(data)
    return None


def _code_names(live: dict[str, Any]) -> dict[str, str]:
    """Where each code object of the objects was written (``name:line`` -> the cell's file,
    nested functions included): cloudpickle sends code as ``<dynamic-code>``, and the child
    puts the names back so that tracebacks name the cell and the checks see the learner's
    frames."""
    out: dict[str, str] = {}

    def walk(code: Any) -> None:
        out[f"{code.co_name}:{code.co_firstlineno}"] = code.co_filename
        for const in code.co_consts:
            if hasattr(const, "co_filename"):
                walk(const)

    def add(fn: Any) -> None:
        code = getattr(getattr(fn, "__func__", fn), "__code__", None)
        if code is not None:
            walk(code)

    for obj in live.values():
        if isinstance(obj, type):
            for v in vars(obj).values():
                add(v)
                if isinstance(v, property):
                    add(v.fget)
        else:
            add(obj)
    return out
