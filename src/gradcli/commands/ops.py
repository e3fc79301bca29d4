"""``gradcli ops``: the op table, and ``gradcli ops NAME``: one op in full."""

from __future__ import annotations

from typing import Any

import typer

from gradcli.commands.common import JSON_OPT, emit_json, make_console
from gradcli.errors import PointError
from gradcli.ops import CONSTANTS, FUNCTIONS, OPS, Op, lookup

EPILOG = (
    "Examples:\n\n"
    "  gradcli ops                  every operation: syntax and derivative rule\n\n"
    "  gradcli ops softplus         one operation in full: domain, kinks, PyTorch's convention\n\n"
    "  gradcli ops ln               aliases work too (ln is log)\n\n"
    "  gradcli ops --json           every field of every row"
)


def ops_command(
    name: str | None = typer.Argument(
        None,
        help="Show this operation in full (its name, an alias or a symbol such as **).",
        metavar="NAME",
        show_default=False,
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """List every operation gradcli knows, with its syntax and derivative rule.

    This is the one table the parser, the engine, the numeric estimates, the PyTorch
    cross-check and the learner checker all read. 'gradcli ops NAME' shows one row in full:
    domain, notes, the convention at kinks and where PyTorch differs.
    """
    if name is not None:
        op = find(name)
        if as_json:
            emit_json(describe(op))
            return
        from gradcli.render.ops import render_op

        make_console().print(render_op(op))
        return
    if as_json:
        emit_json({"ops": [describe(op) for op in OPS.values()], "constants": dict(CONSTANTS)})
        return
    from gradcli.render.ops import render_ops

    console = make_console()
    console.print(render_ops(list(OPS.values()), console.width))


def find(name: str) -> Op:
    """The op called ``name``: its table name, what expressions call it, an alias, a symbol."""
    op = lookup(name)
    if op is not None:
        return op
    import difflib

    guess = difflib.get_close_matches(name, [*OPS, *FUNCTIONS], n=1, cutoff=0.6)
    hint = f"did you mean '{guess[0]}'?" if guess else "run 'gradcli ops' for the list"
    raise PointError(f"no operation called {name!r}", hint=hint)


def describe(op: Op) -> dict[str, Any]:
    """Every field of a row that is data (not code), for --json."""
    return {
        "name": op.name,
        "syntax": op.syntax,
        "call": op.spelling if op.function else None,
        "aliases": list(op.aliases),
        "symbol": op.symbol or None,
        "precedence": op.prec if op.symbol else None,
        "right_associative": op.right,
        "arity": op.arity,
        "params": list(op.params),
        "defaults": list(op.defaults),
        "rule": op.display_rule(),
        "domain": op.domain,
        "notes": op.notes,
        "details": op.details,
        "analytic": op.analytic,
        "kinks": op.kink is not None,
        "convention": op.convention or None,
        "second_derivative_jumps": op.kink2 is not None,
        "convention2": op.convention2 or None,
        "torch_differs": op.torch_gap is not None,
        "method": f"Value.{op.name}()" if op.function else None,
        "hints": dict(op.hints),
        "samples": [list(s) for s in op.samples],
    }
