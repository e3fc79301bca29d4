"""``gradcli check``: run the learner's own file and say what is wrong with it."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from gradcli.commands.common import JSON_OPT, emit_json, make_console
from gradcli.errors import ExitStatus, GradcliError
from gradcli.render.console import write_err

EPILOG = (
    "Examples:\n\n"
    "  gradcli check value.py                 your Value class, op by op, then backward()\n\n"
    "  gradcli check micrograd_exercises.ipynb  a notebook (Colab's too), cell by cell\n\n"
    "  gradcli check nn.py --class Node --attr data=value,backward=backprop\n\n"
    "  gradcli check exercises/               the progress table of an exercise folder\n\n"
    "  gradcli check derivatives.py --json    one JSON object (for scripts and grading)\n\n"
    "  gradcli check engine.py --class Value --timeout 3 --no-torch\n\n"
    "  gradcli check kernels.py --double      your torch.autograd.Functions, 2nd order too\n\n"
    '  for f in submissions/*/value.py; do gradcli check "$f" --json; done > grades.jsonl\n\n'
    "The file is your own Python: gradcli runs it in a separate process, as python or pytest "
    "would, with a time limit per check. Expression text typed on the command line (grad, "
    "compare, ...) is never run as code."
)

PATH_HELP = (
    "A Python file, a notebook (.ipynb) or a script exported from one (.py/.txt) holding a "
    "Value class (any name), gradf, forward_difference, symmetric_difference, softmax, nll or "
    "torch.autograd.Function subclasses; or an exercise folder from 'gradcli exercises new'."
)


def check_command(
    path: str | None = typer.Argument(None, help=PATH_HELP, metavar="PATH", show_default=False),
    as_json: bool = JSON_OPT,
    timeout: str = typer.Option(
        "10", "--timeout", help="Seconds each check may run before it is stopped.", metavar="S"
    ),
    class_name: str | None = typer.Option(
        None,
        "--class",
        help="The class to check (default: Value, else the one class with arithmetic).",
        metavar="NAME",
    ),
    attrs: str | None = typer.Option(
        None,
        "--attr",
        help=(
            "Name what gradcli would otherwise find by behaviour, ROLE=NAME[,...]; roles: "
            "data, grad, children, op, step, backward (e.g. --attr data=value,step=_backprop)."
        ),
        metavar="ROLE=NAME",
    ),
    budget: str = typer.Option(
        "60", "--budget", help="Seconds for all the checks of one file together.", metavar="S"
    ),
    no_torch: bool = typer.Option(
        False, "--no-torch", help="Do not compare with PyTorch even when it is installed."
    ),
    verbose: bool = typer.Option(False, "--verbose", help="List every check, passing or not."),
    watch: bool = typer.Option(False, "--watch", help="Check again whenever a file changes."),
    sandbox: bool | None = typer.Option(
        None,
        "--sandbox/--no-sandbox",
        help="Run the file in bubblewrap: read-only file system but a scratch folder, no "
        "network, its own PID namespace (default: off for check).",
        show_default=False,
    ),
    shapes: list[str] | None = typer.Option(
        None,
        "--shapes",
        help="Input shapes for a torch.autograd.Function, e.g. 3x4,4x5 or MatMul:3x4,4x5 "
        "(() is a scalar); repeat it for several Functions.",
        metavar="SPEC",
    ),
    double: bool = typer.Option(
        False, "--double", help="Also check backward of backward (torch.autograd.Function)."
    ),
    device: str = typer.Option(
        "cpu",
        "--device",
        help="Where torch.autograd.Function checks run: cpu or cuda.",
        metavar="DEV",
    ),
) -> ExitStatus:
    """Check your own implementation: which rule is wrong, where, and what it should be.

    Finds what the file defines and checks each piece it knows: a micrograd-style Value class
    (each operation alone, each node's _backward, then backward()'s walk over the graph),
    finite-difference functions, the exercise's gradf, softmax and nll, and every
    torch.autograd.Function's backward (against the numerical derivative of its own forward).
    Expected values come
    from gradcli's op table and, when installed, PyTorch in float64. Exit code 0 when every
    check passes or what is missing is only not written yet (said as todo), 1 when a check
    fails (in an exercise folder: until every exercise is done), 2 when there is nothing to
    check or the file does not load.
    """
    try:
        opts = Options(
            timeout=_seconds(timeout, "--timeout", 3600),
            budget=_seconds(budget, "--budget", 86400),
            class_name=class_name,
            given=_attrs(attrs),
            use_torch=not no_torch,
            verbose=verbose,
        )
        if watch and as_json:
            raise GradcliError("--watch and --json do not go together", hint="drop one of them")
        target = _path(path)
        opts.tensors = _tensor_options(shapes, double, device)
        from gradcli.learner import sandbox as containment

        policy = containment.resolve(sandbox, False, write_err)
        with containment.using(policy):
            if watch:
                return _watch(target, path or "", opts)
            return _run(target, path or "", opts, as_json)
    except GradcliError:
        raise  # with --json too: cli.main writes the error object, the same for every command


@dataclass
class Options:
    timeout: float
    budget: float
    class_name: str | None
    given: dict[str, str]
    use_torch: bool
    verbose: bool
    tensors: dict[str, Any] = field(default_factory=dict)  # torch.autograd.Function options


def _seconds(text: str, option: str, most: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= most):
        raise GradcliError(
            f"{option} {text}: give a number of seconds above 0 (at most {most:g})",
            hint=f"e.g. {option} 5",
        )
    return value


#: the roles --attr may name
ROLES = ("data", "grad", "children", "op", "step", "backward")


def _attrs(text: str | None) -> dict[str, str]:
    given: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        role, eq, name = part.partition("=")
        role, name = role.strip(), name.strip()
        if not eq or role not in ROLES or not name.isidentifier():
            raise GradcliError(
                f"--attr {part.strip()}: give ROLE=NAME with ROLE one of {', '.join(ROLES)} "
                "and NAME an attribute name",
                hint="e.g. --attr data=value,grad=grad,backward=backprop",
            )
        given[role] = name
    return given


def _tensor_options(specs: list[str] | None, double: bool, device: str) -> dict[str, Any]:
    """``--shapes``, ``--double`` and ``--device`` for torch.autograd.Function checks."""
    from gradcli.learner.tensor_judge import parse_shapes

    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise GradcliError(f"--device {device}: choose cpu or cuda", hint="e.g. --device cuda")
    if device != "cpu":
        import torch

        if not torch.cuda.is_available():
            raise GradcliError(
                f"--device {device}: CUDA is not available here (torch {torch.__version__})",
                hint="run without --device, or on a machine with a GPU",
            )
    return {"shapes": parse_shapes(specs or []), "double": double, "device": device}


def _path(path: str | None) -> Path:
    from gradcli.learner.sources import SUFFIXES

    if path is None or path == "":
        raise GradcliError(
            "give a file or a folder to check",
            hint="e.g. gradcli check value.py (gradcli exercises new DIR writes starters)",
        )
    p = Path(path)
    if not p.exists():
        raise GradcliError(f"no such file or folder: {path}", hint="check the path")
    if p.is_dir():
        return p
    if p.suffix.lower() not in SUFFIXES:
        raise GradcliError(
            f"{path} is not Python code gradcli reads (.py, .ipynb, or a notebook exported as "
            ".txt)",
            hint="give a .py file, a notebook or a folder",
        )
    return p


def _run(target: Path, shown: str, opts: Options, as_json: bool) -> ExitStatus:
    from gradcli.learner.main import check_file, check_folder

    with _progress(as_json) as progress:
        if target.is_dir():
            folder = check_folder(
                target, opts.timeout, opts.class_name, opts.use_torch, display=shown
            )
        else:
            report = check_file(
                target,
                opts.timeout,
                opts.class_name,
                opts.use_torch,
                display=shown,
                given=opts.given,
                budget=opts.budget,
                progress=progress,
                tensor_options=opts.tensors,
            )
    if target.is_dir():
        if as_json:
            emit_json(folder.to_json())
        else:
            from gradcli.render.check import render_folder

            make_console().print(render_folder(folder, opts.verbose))
        return ExitStatus.OK if folder.done else ExitStatus.MISMATCH
    if report.load_error is not None:
        if as_json:  # the same keys as always, status "error"
            emit_json(report.to_json())
            write_err(f"gradcli: error: {report.load_error}\n")
            return ExitStatus.BAD_INPUT
        raise GradcliError(report.load_error, detail=_indented(report.load_traceback))
    if as_json:
        emit_json(report.to_json())
    else:
        from gradcli.render.check import render_file

        make_console().print(render_file(report, opts.verbose))
    return ExitStatus.MISMATCH if report.exit_failed else ExitStatus.OK


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str], None] | None]:
    """On a terminal, after a second: a line on stderr that says which check runs now."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    console = Console(stderr=True)
    started = time.monotonic()
    status: Any = None

    def show(label: str) -> None:
        nonlocal status
        if time.monotonic() - started < 1.0:
            return
        text = f"checking: {label}"[: max(20, console.width - 4)]
        if status is None:
            status = console.status(text)
            status.start()
        else:
            status.update(text)

    try:
        yield show
    finally:
        if status is not None:
            status.stop()


def _indented(text: str) -> str | None:
    if not text.strip():
        return None
    return "\n".join("  " + line for line in text.rstrip().splitlines())


def _stamp(target: Path) -> tuple[tuple[str, float], ...]:
    files = (
        sorted(p for p in target.iterdir() if p.suffix in (".py", ".ipynb", ".txt"))
        if target.is_dir()
        else [target]
    )
    out = []
    for f in files:
        try:
            out.append((str(f), f.stat().st_mtime))
        except OSError:
            out.append((str(f), 0.0))
    return tuple(out)


def _watch(target: Path, shown: str, opts: Options) -> ExitStatus:
    """Check, then check again each time a watched file changes, until Ctrl-C."""
    console = make_console()
    status = ExitStatus.OK
    try:
        while True:
            stamp = _stamp(target)
            console.clear()
            try:
                status = _run(target, shown, opts, False)
            except GradcliError as exc:
                write_err(f"gradcli: error: {exc.one_line()}\n")
                if exc.detail:
                    write_err(exc.detail + "\n")
                status = ExitStatus.BAD_INPUT
            console.print("[dim]watching for changes (Ctrl-C to stop)...[/dim]")
            while _stamp(target) == stamp:
                time.sleep(0.5)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
    return status
