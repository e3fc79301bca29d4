"""The command line: the typer app, the commands registered in one place, and the one exit path.

Each command is a plain function in :mod:`gradcli.commands` (one module per command, their
shared parameters and helpers in :mod:`gradcli.commands.common`); :data:`COMMANDS` lists them,
and a command's module is imported only when that command runs. :func:`main` runs the app and
turns every outcome into an :class:`~gradcli.errors.ExitStatus`: a command returns its status
(or nothing, for success) or raises a :class:`~gradcli.errors.GradcliError`; usage errors, a
closed pipe, Ctrl-C and bugs each leave through the same place with one line on stderr, never a
traceback (and with ``--json``, one error object on stdout).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import re
import shlex
import sys
from collections.abc import Sequence
from difflib import get_close_matches
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup

from gradcli.errors import ExitStatus, GradcliError
from gradcli.render.console import write_err

__all__ = ["COMMANDS", "app", "main", "run"]


class Command(NamedTuple):
    """One command: its name, where its function lives, and its one line in ``gradcli --help``.

    The module is imported only when the command runs (or its own ``--help`` is shown), so a
    command adds nothing to the start-up of the others. Its epilog (the examples under its
    ``--help``) is the module's ``EPILOG``, or ``<NAME>_EPILOG`` where a module holds two.
    """

    name: str
    module: str
    function: str
    summary: str


#: every command, in the order ``gradcli --help`` lists them: (name, module (relative to
#: gradcli.commands, or absolute), function, summary). Adding a command is adding a line.
_TABLE: list[tuple[str, str, str, str]] = [
    ("grad", ".grad", "grad_command", "Value and gradient (or Jacobian), beside sympy."),
    ("hessian", ".hessian", "hessian_command", "Second derivatives, eigenvalues, what they say."),
    ("compare", ".compare", "compare_command", "Finite differences against the exact derivative."),
    ("verify-torch", ".verify_torch", "verify_torch_command", "Cross-check with PyTorch autograd."),
    ("softmax", ".softmax", "softmax_command", "Softmax + NLL: the loss and its gradient."),
    ("graph", ".graph", "graph_command", "The computation graph, forward and backward."),
    ("explain", ".graph", "explain_command", "The backward pass step by step."),
    ("ops", ".ops", "ops_command", "Every operation, its syntax and derivative rule."),
    ("check", ".check", "check_command", "Check your own Value class or exercise files."),
    ("exercises", ".exercises", "exercises_command", "The backprop exercises; a starter folder."),
    ("grade", ".grade", "grade_command", "Grade a whole class's submissions at once."),
]
COMMANDS: list[Command] = [Command(*row) for row in _TABLE]

_BY_NAME = {c.name: c for c in COMMANDS}

# Arguments that look like options are handed on as positional arguments, so an expression or a
# number may start with a minus sign (grad "-a**3 + b", softmax 0 -2 1); "--" still ends the
# options. Help is --help only inside click: a short -h would be matched inside "-tanh(x)"
# (click reads unknown short options letter by letter), so main() turns a lone -h into --help.
CONTEXT = {"ignore_unknown_options": True, "help_option_names": ["--help"]}


def load_command(spec: Command) -> Any:
    """The click command for ``spec``, built from its module (imported now)."""
    from typer.models import CommandInfo

    from gradcli.commands.common import verbatim_epilog

    module = importlib.import_module(spec.module, "gradcli.commands")
    epilog = getattr(module, spec.name.upper().replace("-", "_") + "_EPILOG", None)
    info = CommandInfo(
        name=spec.name,
        callback=getattr(module, spec.function),
        epilog=verbatim_epilog(epilog or getattr(module, "EPILOG", None)),
        context_settings=CONTEXT,
    )
    return typer.main.get_command_from_info(
        info, pretty_exceptions_short=False, rich_markup_mode=None
    )


def _light_coercion() -> None:
    """Convert gradcli's parameter types (str, bool, int, float, Path, an Enum, list[str])
    without pydantic.

    typer 0.2x converts every parameter through a pydantic TypeAdapter; importing pydantic for
    that costs ~90 ms at each start, more than the rest of gradcli's own start-up. The types
    gradcli uses need no schema: they are converted here; any
    other type (or a typer without these internals) goes the usual way.
    """
    try:
        from dataclasses import dataclass
        from enum import Enum
        from pathlib import Path

        from typer import _coercion
        from typer import core as typer_core
    except ImportError:  # pragma: no cover - another typer
        return
    if not all(hasattr(_coercion, a) for a in ("RuntimeParam", "build_runtime_param")) or not (
        hasattr(typer_core, "build_runtime_param")
    ):
        return  # pragma: no cover - another typer
    original = _coercion.build_runtime_param

    def scalar(kind: Any) -> Any:
        if kind in (str, bool):
            return lambda v: v
        if kind is Path:
            return Path
        if kind in (int, float):
            # the words typer (through pydantic) uses: _not_a_number() turns them into plain ones
            word = "integer" if kind is int else "number"

            def number(v: Any) -> Any:
                if isinstance(v, kind) and not isinstance(v, bool):
                    return v
                try:
                    return kind(v)
                except (TypeError, ValueError):
                    raise typer.BadParameter(f"Input should be a valid {word}") from None

            return number
        if isinstance(kind, type) and issubclass(kind, Enum):

            def choice(v: Any) -> Any:
                try:
                    return kind(v)
                except ValueError:
                    names = ", ".join(f"'{m.value}'" for m in kind)
                    raise typer.BadParameter(f"'{v}' is not one of {names}") from None

            return choice
        return None

    def converter(annotation: Any) -> Any:
        origin = getattr(annotation, "__origin__", None)
        if origin is list:
            (item,) = getattr(annotation, "__args__", (None,))
            each = scalar(item)
            return None if each is None else (lambda vs: [each(v) for v in vs])
        return scalar(annotation)

    @dataclass(frozen=True)
    class LightParam(_coercion.RuntimeParam):
        convert: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return self.convert(value)

    def bounded(convert: Any, info: Any) -> Any:
        low, high = getattr(info, "min", None), getattr(info, "max", None)
        if low is None and high is None:
            return convert
        if getattr(info, "clamp", False):
            return None  # typer's own way

        def check(v: Any) -> Any:
            x = convert(v)
            if low is not None and x < low:
                raise typer.BadParameter(f"give a number of at least {low:g}, not {v}")
            if high is not None and x > high:
                raise typer.BadParameter(f"give a number of at most {high:g}, not {v}")
            return x

        return check

    def build(descriptor: Any) -> Any:
        convert = None
        if descriptor.file_annotation is None:
            convert = converter(descriptor.annotation)
        if convert is not None:
            convert = bounded(convert, descriptor.parameter_info)
        if convert is None:
            return original(descriptor)
        return LightParam(
            parameter_info=descriptor.parameter_info,
            annotation=descriptor.annotation,
            convert=convert,
        )

    typer_core.build_runtime_param = build


_light_coercion()


class LazyGroup(TyperGroup):
    """The root group: commands come from :data:`COMMANDS`, each built when first asked for;
    ``gradcli --help`` lists them from the table's summaries without importing any."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [c.name for c in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in _BY_NAME:
            self.commands[cmd_name] = load_command(_BY_NAME[cmd_name])
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(c.name, c.summary) for c in COMMANDS])

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return self._click_resolve_command(ctx, args)
        except typer.BadParameter:
            raise
        except Exception as exc:  # click's UsageError: suggest the nearest command's name
            matches = get_close_matches(args[0], list(_BY_NAME)) if args else []
            if matches and hasattr(exc, "message"):
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {matches[0]!r}?"
            raise


app = typer.Typer(
    name="gradcli",
    cls=LazyGroup,
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


def _version(value: bool) -> None:
    if value:
        from gradcli import __version__

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


# ---- the one exit path --------------------------------------------------------------------------


def _wants_json(args: Sequence[str]) -> bool:
    """Whether ``--json`` was asked for (before any ``--``, where everything is an argument)."""
    for a in args:
        if a == "--":
            return False
        if a == "--json":
            return True
    return False


def _fail(
    code: ExitStatus,
    message: str,
    hint: str | None = None,
    detail: str | None = None,
    as_json: bool = False,
) -> int:
    """Every error leaves here: one line on stderr (and the caret lines under it, if any), and
    with ``--json`` also one JSON object on stdout, ``{"error", "hint", "exit_code"}``."""
    one_line = f"{message}; {hint}" if hint else message
    write_err(f"gradcli: error: {one_line}\n")
    if detail:
        write_err(detail.rstrip("\n") + "\n")
    if as_json:
        obj = {"error": message, "hint": hint, "exit_code": int(code)}
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return int(code)


#: how to give a value to the options people most often leave empty
_OPTION_EXAMPLES = {"--at": "--at x=1.5", "--target": "--target 3", "--method": "--method central"}


def _choices(message: str) -> str | None:
    """click's "Invalid value for '--mode': 'sideways' is not one of 'reverse', 'forward'" (or
    typer's "Value error, ..."), in plain words."""
    m = re.search(r"[Ii]nvalid value for '(--[\w-]+)'.*?'([^']*)' is not one of (.+)", message)
    if not m:
        return None
    option, given, rest = m.groups()
    choices = re.findall(r"'([^']*)'", rest)
    if not choices:
        return None
    listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    return f"{option} {given}: choose {listed}"


def _not_a_number(message: str, args: Sequence[str]) -> str | None:
    """typer's "Invalid value for '--steps': Input should be a valid integer, unable to parse
    string as an integer", as "--steps abc: give a whole number"."""
    m = re.search(r"[Ii]nvalid value for '(--[\w-]+)'.*?valid (integer|number)", message)
    if not m:
        return None
    option, kind = m.groups()
    given = ""
    for i, a in enumerate(args):
        if a == option and i + 1 < len(args):
            given = args[i + 1]
        elif a.startswith(option + "="):
            given = a.split("=", 1)[1]
    what = "a whole number, e.g. 3" if kind == "integer" else "a number, e.g. 1e-6"
    return f"{option} {given}: give {what}".replace("  ", " ")


def _usage_error(exc: Any, args: list[str], as_json: bool) -> int:
    """A usage error from click, as one line that says where to look."""
    message = exc.format_message().strip().rstrip(".")
    names = set(_BY_NAME)
    cmd = next((a for a in args if not a.startswith("-")), "")
    if cmd and cmd not in names:
        if not re.fullmatch(r"[a-z][a-z-]*", cmd):  # not a command's name: an expression?
            return _fail(
                ExitStatus.BAD_INPUT,
                f"{cmd!r} is not a command",
                f"to differentiate an expression, run: gradcli grad {shlex.quote(cmd)}",
                as_json=as_json,
            )
        cmd = ""  # a mistyped command has no help of its own
    needs = re.fullmatch(r"Option '(-[\w-]+)' requires an argument", message)
    if needs:
        option = needs.group(1)
        example = _OPTION_EXAMPLES.get(option, f"{option} VALUE")
        message = f"option {option} needs a value; e.g. {example}"
    choices = _choices(message) or _not_a_number(message, args)
    if choices:
        message = choices
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
    hint = f"see 'gradcli {cmd + ' ' if cmd else ''}--help'"
    return _fail(ExitStatus.BAD_INPUT, message, hint, as_json=as_json)


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
    """Run the CLI; return (and, as a script, exit with) the exit code. Never a traceback.

    Errors follow one rule for every command: one line on stderr, and with ``--json`` also one
    JSON object on stdout, ``{"error": message, "hint": hint or null, "exit_code": code}``.
    """
    args = _help_args(list(sys.argv[1:] if argv is None else argv))
    as_json = _wants_json(args)
    try:
        try:
            result = app(args=args, prog_name="gradcli", standalone_mode=False)
            sys.stdout.flush()
        except GradcliError as exc:
            return _fail(exc.exit_code, exc.message, exc.hint, exc.detail, as_json)
        except typer.Exit as exc:
            return int(exc.exit_code)
        except Exception as exc:
            if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
                return _usage_error(exc, args, as_json)  # click's usage errors
            if type(exc).__name__ == "Abort":
                return _fail(ExitStatus.INTERRUPTED, "interrupted", as_json=as_json)
            if isinstance(exc, BrokenPipeError):
                raise
            if os.environ.get("GRADCLI_DEBUG"):
                raise
            return _fail(
                ExitStatus.INTERNAL,
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in gradcli",
                "please report it (set GRADCLI_DEBUG=1 to see the traceback)",
                as_json=as_json,
            )
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
