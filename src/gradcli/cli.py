"""The command line: the typer app, the commands registered in one place, and the one exit path.

Each command is a plain function in :mod:`gradcli.commands` (one module per command, their
shared parameters and helpers in :mod:`gradcli.commands.common`); :data:`COMMANDS` registers
them on :data:`app` when this module is imported. :func:`main` runs the app and turns every
outcome into an :class:`~gradcli.errors.ExitStatus`: a command returns its status (or nothing, for
success) or raises a :class:`~gradcli.errors.GradcliError`; usage errors, a closed pipe, Ctrl-C
and bugs each leave through the same place with one line on stderr, never a traceback.
"""

from __future__ import annotations

import gc
import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer

from gradcli import __version__
from gradcli.commands import (
    check,
    common,
    compare,
    exercises,
    grad,
    grade,
    graph,
    hessian,
    ops,
    softmax,
    verify_torch,
)
from gradcli.errors import ExitStatus, GradcliError
from gradcli.render.console import write_err

app = typer.Typer(
    name="gradcli",
    help=(
        "See, check and understand gradients.\n\n"
        "Type a math expression; gradcli builds its computation graph and shows the value and "
        "the gradient by reverse-mode autodiff, beside sympy's symbolic derivative, numerical "
        "estimates and PyTorch. Every command runs on a built-in example when given no "
        "expression, and speaks --json. Expressions are parsed, never run as code.\n\n"
        'Example:  gradcli grad "x**2 * sin(y)" --at x=1.5 --at y=0.3'
    ),
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is shown as written: [torch] is not a style tag
)

# Arguments that look like options are handed on as positional arguments, so an expression or a
# number may start with a minus sign (grad "-a**3 + b", softmax 0 -2 1); "--" still ends the
# options. Help is --help only inside click: a short -h would be matched inside "-tanh(x)"
# (click reads unknown short options letter by letter), so main() turns a lone -h into --help.
CONTEXT = {"ignore_unknown_options": True, "help_option_names": ["--help"]}

#: every command: (name, function, epilog with examples)
COMMANDS: list[tuple[str, Callable[..., Any], str]] = [
    ("grad", grad.grad_command, grad.EPILOG),
    ("hessian", hessian.hessian_command, hessian.EPILOG),
    ("compare", compare.compare_command, compare.EPILOG),
    ("verify-torch", verify_torch.verify_torch_command, verify_torch.EPILOG),
    ("softmax", softmax.softmax_command, softmax.EPILOG),
    ("graph", graph.graph_command, graph.GRAPH_EPILOG),
    ("explain", graph.explain_command, graph.EXPLAIN_EPILOG),
    ("ops", ops.ops_command, ops.EPILOG),
    ("check", check.check_command, check.EPILOG),
    ("exercises", exercises.exercises_command, exercises.EPILOG),
    ("grade", grade.grade_command, grade.EPILOG),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gradcli {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True, context_settings={"help_option_names": ["--help"]})
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


for _name, _fn, _epilog in COMMANDS:
    app.command(_name, epilog=common.verbatim_epilog(_epilog), context_settings=CONTEXT)(_fn)


# ---- the one exit path --------------------------------------------------------------------------


def _print_error(message: str, detail: str | None = None) -> None:
    write_err(f"gradcli: error: {message}\n")
    if detail:
        write_err(detail.rstrip("\n") + "\n")


#: how to give a value to the options people most often leave empty
_OPTION_EXAMPLES = {"--at": "--at x=1.5", "--target": "--target 3", "--method": "--method central"}


def _usage_error(exc: Any, args: list[str]) -> ExitStatus:
    """A usage error from click, as one line that says where to look."""
    message = exc.format_message().strip().rstrip(".")
    names = {name for name, _, _ in COMMANDS}
    cmd = next((a for a in args if not a.startswith("-")), "")
    if cmd and cmd not in names:
        if not re.fullmatch(r"[a-z][a-z-]*", cmd):  # not a command's name: an expression?
            _print_error(
                f"{cmd!r} is not a command; to differentiate an expression, run: "
                f"gradcli grad {shlex.quote(cmd)}"
            )
            return ExitStatus.BAD_INPUT
        cmd = ""  # a mistyped command has no help of its own
    needs = re.fullmatch(r"Option '(-[\w-]+)' requires an argument", message)
    if needs:
        option = needs.group(1)
        example = _OPTION_EXAMPLES.get(option, f"{option} VALUE")
        message = f"option {option} needs a value; e.g. {example}"
    if "unexpected extra argument" in message:
        extra = message.rsplit("(", 1)[-1].rstrip(")")
        if extra.startswith("-"):
            message = f"no such option: {extra}"
        elif re.fullmatch(r"[A-Za-z_]\w*=\S+", extra):
            message = (
                f"unexpected extra argument {extra!r}: give several variables with a comma, "
                f"--at x=2,{extra}, or a second --at {extra}"
            )
        else:
            message = f"unexpected extra argument {extra!r} (quote an expression with spaces)"
    _print_error(f"{message}; see 'gradcli {cmd + ' ' if cmd else ''}--help'")
    return ExitStatus.BAD_INPUT


def _help_args(args: list[str]) -> list[str]:
    """``-h`` is ``--help`` (before any ``--``, where everything is an argument)."""
    out: list[str] = []
    for i, a in enumerate(args):
        if a == "--":
            return out + args[i:]
        out.append("--help" if a == "-h" else a)
    return out


def _status(result: Any) -> ExitStatus:
    if result is None:
        return ExitStatus.OK
    return ExitStatus(int(result))


def _quiet_closed_pipe() -> None:
    """stdout was closed by the reader (``| head``): send the rest of our output nowhere, so
    that the interpreter's final flush does not fail either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout without a file descriptor (tests): nothing to redirect


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a script, exit with) the exit code. Never a traceback."""
    args = _help_args(list(sys.argv[1:] if argv is None else argv))
    try:
        try:
            result = app(args=args, prog_name="gradcli", standalone_mode=False)
            sys.stdout.flush()
        except GradcliError as exc:
            _print_error(exc.one_line(), exc.detail)
            return int(exc.exit_code)
        except typer.Exit as exc:
            return int(exc.exit_code)
        except Exception as exc:
            if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
                return int(_usage_error(exc, args))  # click's usage errors
            if type(exc).__name__ == "Abort":
                write_err("gradcli: interrupted\n")
                return int(ExitStatus.INTERRUPTED)
            if isinstance(exc, BrokenPipeError):
                raise
            if os.environ.get("GRADCLI_DEBUG"):
                raise
            _print_error(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in gradcli, please "
                "report it (set GRADCLI_DEBUG=1 to see the traceback)"
            )
            return int(ExitStatus.INTERNAL)
    except BrokenPipeError:
        _quiet_closed_pipe()
        return int(ExitStatus.OK)
    except KeyboardInterrupt:
        write_err("gradcli: interrupted\n")
        return int(ExitStatus.INTERRUPTED)
    return int(_status(result))


def run() -> None:
    """Console-script entry point (also ``python -m gradcli``)."""
    # gradcli builds large acyclic graphs (a 20,000-term sum is ~120,000 nodes). With the default
    # gen-0 threshold of 700 the collector rescans the growing graph thousands of times and the
    # run time grows faster than the input; the graphs hold no cycles for it to find, so collect
    # rarely, and leave what was imported at start-up out of every collection.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    sys.exit(main())
