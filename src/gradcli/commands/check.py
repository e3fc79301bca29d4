"""``gradcli check``: run the learner's own file and say what is wrong with it."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import typer

from gradcli.commands.common import JSON_OPT, emit_json, make_console
from gradcli.errors import ExitStatus, GradcliError
from gradcli.render.console import write_err

EPILOG = (
    "Examples:\n\n"
    "  gradcli check value.py                 your Value class, op by op, then backward()\n\n"
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
    "A Python file (a Value class, gradf, forward_difference, symmetric_difference, softmax, "
    "nll, torch.autograd.Function subclasses), or an exercise folder from 'gradcli exercises "
    "new'."
)


def check_command(
    path: str | None = typer.Argument(None, help=PATH_HELP, metavar="PATH", show_default=False),
    as_json: bool = JSON_OPT,
    timeout: str = typer.Option(
        "10", "--timeout", help="Seconds each check may run before it is stopped.", metavar="S"
    ),
    class_name: str | None = typer.Option(
        None, "--class", help="The class to check, when it is not named Value.", metavar="NAME"
    ),
    no_torch: bool = typer.Option(
        False, "--no-torch", help="Do not compare with PyTorch even when it is installed."
    ),
    verbose: bool = typer.Option(False, "--verbose", help="List every check, passing or not."),
    watch: bool = typer.Option(False, "--watch", help="Check again whenever a file changes."),
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
    finite-difference functions, the exercise's gradf, softmax and nll. Expected values come
    from gradcli's op table and, when installed, PyTorch in float64. Exit code 0 when every
    check passes, 1 when one fails (or is not written yet), 2 when there is nothing to check
    or the file does not load.
    """
    try:
        seconds = _timeout(timeout)
        if watch and as_json:
            raise GradcliError("--watch and --json do not go together", hint="drop one of them")
        target = _path(path)
        tensors = _tensor_options(shapes, double, device)  # issue 19
        if watch:
            return _watch(target, path or "", seconds, class_name, not no_torch, verbose, tensors)
        return _run(
            target, path or "", seconds, class_name, not no_torch, as_json, verbose, tensors
        )
    except GradcliError as exc:
        if not as_json:
            raise
        emit_json({"error": exc.one_line()})
        write_err(f"gradcli: error: {exc.one_line()}\n")
        return ExitStatus.BAD_INPUT


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise GradcliError(
            f"--timeout {text}: give a number of seconds above 0 (at most 3600)",
            hint="e.g. --timeout 5",
        )
    return value


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
    if p.suffix == ".ipynb":
        raise GradcliError(
            f"{path} is a notebook; gradcli checks Python files",
            hint=f"export it first: jupyter nbconvert --to script {path}",
        )
    if p.suffix != ".py":
        raise GradcliError(f"{path} is not a Python file (.py)", hint="give a .py file or a folder")
    return p


def _run(
    target: Path,
    shown: str,
    timeout: float,
    class_name: str | None,
    use_torch: bool,
    as_json: bool,
    verbose: bool,
    tensors: dict[str, Any] | None = None,
) -> ExitStatus:
    from gradcli.learner.check import check_file, check_folder

    if target.is_dir():
        folder = check_folder(target, timeout, class_name, use_torch, display=shown)
        if as_json:
            emit_json(folder.to_json())
        else:
            from gradcli.render.check import render_folder

            make_console().print(render_folder(folder, verbose))
        return ExitStatus.OK if folder.done else ExitStatus.MISMATCH
    report = check_file(
        target, timeout, class_name, use_torch, display=shown, tensor_options=tensors
    )
    if report.load_error is not None:
        raise GradcliError(report.load_error, detail=_indented(report.load_traceback))
    if as_json:
        emit_json(report.to_json())
    else:
        from gradcli.render.check import render_file

        make_console().print(render_file(report, verbose))
    return ExitStatus.OK if report.failed == 0 and report.passed > 0 else ExitStatus.MISMATCH


def _indented(text: str) -> str | None:
    if not text.strip():
        return None
    return "\n".join("  " + line for line in text.rstrip().splitlines())


def _stamp(target: Path) -> tuple[tuple[str, float], ...]:
    files = sorted(target.glob("*.py")) if target.is_dir() else [target]
    out = []
    for f in files:
        try:
            out.append((str(f), f.stat().st_mtime))
        except OSError:
            out.append((str(f), 0.0))
    return tuple(out)


def _watch(
    target: Path,
    shown: str,
    timeout: float,
    class_name: str | None,
    use_torch: bool,
    verbose: bool,
    tensors: dict[str, Any] | None = None,
) -> ExitStatus:
    """Check, then check again each time a watched file changes, until Ctrl-C."""
    console = make_console()
    status = ExitStatus.OK
    try:
        while True:
            stamp = _stamp(target)
            console.clear()
            try:
                status = _run(
                    target, shown, timeout, class_name, use_torch, False, verbose, tensors
                )
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
