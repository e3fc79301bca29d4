"""The command line: arguments in, library call, renderer, exit code out.

Each command lives in :mod:`gradcli.commands` and registers itself on :data:`app`. This module
holds what they share: reading EXPR (text, ``-`` for standard input, or the built-in example),
parsing ``--at``, printing results or JSON, and turning every error into one line on stderr with
the right exit code (:func:`main`).
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer

from gradcli import __version__
from gradcli.errors import ExitStatus, GradcliError, ParseError, PointError
from gradcli.examples import EXAMPLE_EXPR, EXAMPLE_POINT
from gradcli.parse import MAX_LENGTH, Expression, parse

app = typer.Typer(
    name="gradcli",
    help=(
        "See, check and understand gradients.\n\n"
        "Type a math expression; gradcli builds its computation graph and shows the value and "
        "the gradient by reverse-mode autodiff, beside sympy's symbolic derivative, numerical "
        "estimates and PyTorch. Every command runs on a built-in example when given no "
        "expression, and speaks --json.\n\n"
        'Example:  gradcli grad "x**2 * sin(y)" --at x=1.5 --at y=0.3'
    ),
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is shown as written: [torch] is not a style tag
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gradcli {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
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


# ---- shared argument handling -------------------------------------------------------------------

EXPR_HELP = (
    "The expression, e.g. 'x**2 * sin(y)'. Use - to read it from standard input (for long "
    "expressions). Leave it out for the built-in example."
)
AT_HELP = "Point: name=value, repeatable or comma-separated (--at a=2 --at b=3, or --at a=2,b=3)."
JSON_HELP = "Print one JSON object to stdout instead of tables."

# The parameters every expression command shares, declared once (typer reads them; the same
# object may serve several commands).
EXPR_ARG: Any = typer.Argument(None, help=EXPR_HELP, metavar="EXPR", show_default=False)
AT_OPT: Any = typer.Option(None, "--at", help=AT_HELP, metavar="NAME=VALUE")
JSON_OPT: Any = typer.Option(False, "--json", help=JSON_HELP)


@dataclass
class Problem:
    """What a command works on: the parsed expression and the point."""

    expression: Expression
    point: dict[str, float]
    builtin: bool = False


def read_expression_text(expr: str | None) -> str | None:
    """EXPR as given, or read from stdin for ``-``; None when no expression was given."""
    if expr is None:
        return None
    if expr == "-":
        try:
            data = sys.stdin.read(MAX_LENGTH + 1)
        except UnicodeDecodeError:
            data = "\udcff"
        if any("\udc80" <= ch <= "\udcff" for ch in data[:MAX_LENGTH]):  # undecodable bytes
            raise ParseError(
                "standard input is not UTF-8 text", hint="pipe in the expression as plain text"
            )
        if len(data) > MAX_LENGTH:
            raise ParseError(
                f"the expression on standard input is longer than the limit of {MAX_LENGTH:,} "
                "characters"
            )
        return data
    return expr


def load_problem(expr: str | None, at: Sequence[str] | None) -> Problem:
    """Parse EXPR (or take the built-in example) and the ``--at`` point."""
    text = read_expression_text(expr)
    point = parse_point(at or [])
    if text is None:
        if point and set(point) - set(EXAMPLE_POINT):
            raise PointError(
                "--at was given without an expression; the built-in example uses a, b and c",
                hint='give the expression too, e.g. gradcli grad "x**2" --at x=3',
            )
        merged = {**EXAMPLE_POINT, **point}
        return Problem(parse(EXAMPLE_EXPR), merged, builtin=True)
    return Problem(parse(text), point)


def parse_point(items: Sequence[str]) -> dict[str, float]:
    """``["a=2", "b=3,c=4"]`` -> ``{"a": 2.0, "b": 3.0, "c": 4.0}``; values may be constant
    expressions such as ``pi/2``."""
    point: dict[str, float] = {}
    for item in items:
        # split at commas that start a new name=: "x=1,y=2" but not "x=logsumexp(1,2)"
        for part in re.split(r",(?=\s*[A-Za-z_]\w*\s*=)", item):
            part = part.strip()
            if not part:
                continue
            name, sep, raw = part.partition("=")
            name, raw = name.strip(), raw.strip()
            if not sep or not name or not raw:
                raise PointError(
                    f"--at expects name=value, got {part!r}",
                    hint="e.g. --at x=1.5 or --at x=1,y=2",
                )
            if not name.isidentifier() or name.startswith("__"):
                raise PointError(f"{name!r} is not a valid variable name (in --at {part})")
            if name in point:
                raise PointError(f"variable '{name}' is given twice in --at")
            point[name] = _point_value(name, raw)
    return point


def _point_value(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
        try:
            const = parse(raw)
        except ParseError:
            const = None
        if const is not None and const.root.const is not None:
            value = const.root.const
        elif raw.lower().lstrip("+-") not in ("nan", "inf", "infinity"):
            raise PointError(
                f"--at {name}={raw}: the value is not a number",
                hint="give a number such as 1.5, -2, 1e-3 or a constant such as pi/4",
            ) from None
    if not math.isfinite(value):
        raise PointError(f"--at {name}={raw}: the value must be a finite number")
    return value


# ---- output -------------------------------------------------------------------------------------


def make_console(stderr: bool = False) -> Any:
    """A rich Console, made when needed (it reads NO_COLOR and the terminal when made)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def emit_json(obj: Any) -> None:
    """Exactly one JSON object on stdout. NaN and inf are never emitted (they are not JSON)."""
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")


# ---- entry point --------------------------------------------------------------------------------


def _normalize_argv(argv: list[str]) -> list[str]:
    """Let EXPR and numbers start with '-': anything after the command that is not one of its
    options (or an option's value) is positional, so ``grad "-a**3 + b"`` and ``softmax 0 -2``
    work. Positionals are moved behind ``--``, where no parser mistakes them for options."""
    from typer.main import get_command

    group = get_command(app)
    commands: dict[str, Any] = getattr(group, "commands", {})
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 1  # global options (--version, --help)
    if i >= len(argv) or argv[i] not in commands:
        return argv
    command = commands[argv[i]]
    takes_value: dict[str, bool] = {}
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option":
            continue
        flag = bool(getattr(param, "is_flag", False) or getattr(param, "count", False))
        for name in [*param.opts, *getattr(param, "secondary_opts", [])]:
            takes_value[name] = not flag
    takes_value["--help"] = False
    options: list[str] = []
    positionals: list[str] = []
    rest = argv[i + 1 :]
    j = 0
    while j < len(rest):
        tok = rest[j]
        if tok == "--":
            positionals.extend(rest[j + 1 :])
            break
        name = tok.split("=", 1)[0]
        short = tok[:2]
        if (
            not tok.startswith("--")
            and len(tok) > 2
            and takes_value.get(short)
            and not _looks_numeric(tok)
            and not any(c in tok for c in "*/^()")
        ):
            options.append(tok)  # -t1, -mcentral: a short option with its value attached
        elif tok.startswith("--") and name not in takes_value:
            options.append(tok)  # an unknown --option: let the parser report it
        elif name in takes_value:
            options.append(tok)
            if takes_value[name] and "=" not in tok:
                if j + 1 >= len(rest):
                    raise GradcliError(f"option {tok} needs a value", hint=f"e.g. {_example(tok)}")
                j += 1
                options.append(rest[j])
        else:
            positionals.append(tok)
        j += 1
    return [*argv[: i + 1], *options, *(["--", *positionals] if positionals else [])]


def _example(option: str) -> str:
    return {"--at": "--at x=1.5"}.get(option, f"{option} VALUE; see --help")


def _looks_numeric(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def _print_error(message: str, detail: str | None = None) -> None:
    sys.stderr.write(f"gradcli: error: {message}\n")
    if detail:
        sys.stderr.write(detail.rstrip("\n") + "\n")


def _keep_examples_verbatim(epilog: str | None) -> str | None:
    """Mark each indented paragraph of an epilog (the worked examples) so that the help
    formatter does not re-flow it into one line."""
    if not epilog:
        return epilog
    paragraphs = epilog.split("\n\n")
    return "\n\n".join(
        "\b\n" + p if p.startswith("  ") and not p.startswith("\b") else p for p in paragraphs
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a script, exit with) the exit code. Never a traceback."""
    import gradcli.commands  # noqa: F401  (registers the commands)

    for info in app.registered_commands:
        info.epilog = _keep_examples_verbatim(info.epilog)

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=_normalize_argv(args), prog_name="gradcli", standalone_mode=False)
    except GradcliError as exc:
        _print_error(exc.one_line(), exc.detail)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("gradcli: interrupted\n")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except Exception as exc:
        code = getattr(exc, "exit_code", None)
        if code is not None and hasattr(exc, "format_message"):  # a usage error from the parser
            from typer.main import get_command

            message = exc.format_message().strip().rstrip(".")
            cmd = args[0] if args and not args[0].startswith("-") else ""
            if cmd not in getattr(get_command(app), "commands", {}):
                cmd = ""  # a mistyped command has no help of its own
            _print_error(f"{message}; see 'gradcli {cmd + ' ' if cmd else ''}--help'")
            return int(code) if code else int(ExitStatus.BAD_INPUT)
        if type(exc).__name__ == "Abort":
            sys.stderr.write("gradcli: aborted\n")
            return 130
        if os.environ.get("GRADCLI_DEBUG"):
            raise
        _print_error(
            f"internal error ({type(exc).__name__}: {exc}); this is a bug in gradcli, please "
            "report it (set GRADCLI_DEBUG=1 to see the traceback)"
        )
        return 70
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point (also ``python -m gradcli``)."""
    import gradcli.commands  # noqa: F401

    # gradcli builds large acyclic graphs (a 20,000-term sum is ~120,000 nodes). With the default
    # gen-0 threshold of 700 the collector rescans the growing graph thousands of times and the
    # run time grows faster than the input; the graphs hold no cycles for it to find, so collect
    # rarely, and leave what was imported at start-up out of every collection.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    sys.exit(main())
