"""What the commands share: their common parameters, reading EXPR and ``--at``, and output.

Every command module imports from here (never from :mod:`gradcli.cli`, which imports the
commands to register them): the dependency runs one way.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer

from gradcli.errors import ParseError, PointError
from gradcli.examples import EXAMPLE_EXPR, EXAMPLE_POINT
from gradcli.expr import Expression
from gradcli.parse import MAX_LENGTH, parse, parse_many

EXPR_HELP = (
    "The expression, e.g. 'x**2 * sin(y)'. Use - to read it from standard input (for long "
    "expressions). Leave it out for the built-in example. The text is parsed, never run as code."
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
        if sys.stdin.isatty():
            sys.stderr.write(
                "gradcli: reading the expression from standard input (end it with Ctrl-D)\n"
            )
        try:
            data = sys.stdin.read(MAX_LENGTH + 2)
        except UnicodeDecodeError:
            data = "\udcff"
        data = data.removeprefix("\ufeff")  # a UTF-8 byte-order mark, as Windows editors write
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
    if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", expr) and not re.fullmatch(r"-[A-Za-z]\w*", expr):
        # an option the command does not know, which click handed on as EXPR
        raise PointError(f"no such option: {expr.split('=', 1)[0]}", hint="see --help")
    return expr


def load_problem(expr: str | None, at: Sequence[str] | None) -> Problem:
    """Parse EXPR (or take the built-in example) and the ``--at`` point."""
    (problem,) = load_problems(expr, at, many=False)
    return problem


def load_problems(expr: str | None, at: Sequence[str] | None, many: bool = True) -> list[Problem]:
    """EXPR as one expression, or (``many``) several separated by ``;`` (the outputs of a
    Jacobian), each with the same ``--at`` point; the built-in example when EXPR is left out."""
    text = read_expression_text(expr)
    if text is not None:  # the expression's own error comes before the point's
        parsed = parse_many(text) if many else [parse(text)]
    point = parse_point(at or [])
    if text is None:
        if point and set(point) - set(EXAMPLE_POINT):
            raise PointError(
                "--at was given without an expression; the built-in example uses a, b and c",
                hint='give the expression too, e.g. gradcli grad "x**2" --at x=3',
            )
        merged = {**EXAMPLE_POINT, **point}
        return [Problem(parse(EXAMPLE_EXPR), merged, builtin=True)]
    return [Problem(e, point) for e in parsed]


def parse_point(items: Sequence[str]) -> dict[str, float]:
    """``["a=2", "b=3,c=4"]`` -> ``{"a": 2.0, "b": 3.0, "c": 4.0}``; values may be constant
    expressions such as ``pi/2``."""
    point: dict[str, float] = {}
    for item in items:
        # split at commas that start a new name=: "x=1,y=2" but not "x=logsumexp(1,2)"
        for part in re.split(r",(?=\s*[^\W\d]\w*\s*=)", item):
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
            hint = "give a number such as 1.5, -2, 1e-3 or a constant such as pi/4"
            if re.search(r"\s+[A-Za-z_]\w*\s*=", raw):
                hint = "separate several variables with commas: --at x=2,y=3"
            raise PointError(f"--at {name}={raw}: the value is not a number", hint=hint) from None
    else:
        if value == 0 and any(ch in "123456789" for ch in re.split("[eE]", raw)[0]):
            raise PointError(
                f"--at {name}={raw}: the value underflows to 0 (the smallest float is about "
                "5e-324)",
                hint="give 0 if you mean 0",
            )
    if not math.isfinite(value):
        raise PointError(f"--at {name}={raw}: the value must be a finite number")
    return value


# ---- output -------------------------------------------------------------------------------------


def make_console(stderr: bool = False) -> Any:
    """A rich Console, made when needed (it reads NO_COLOR and the terminal when made)."""
    from gradcli.render.console import make_console as make

    return make(stderr=stderr)


def emit_json(obj: Any) -> None:
    """Exactly one JSON object on stdout. NaN and inf are never emitted (they are not JSON)."""
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")


def verbatim_epilog(epilog: str | None) -> str | None:
    """Mark each indented paragraph of an epilog (the worked examples) so that the help
    formatter does not re-flow it into one line."""
    if not epilog:
        return epilog
    paragraphs = epilog.split("\n\n")
    return "\n\n".join(
        "\b\n" + p if p.startswith("  ") and not p.startswith("\b") else p for p in paragraphs
    )
