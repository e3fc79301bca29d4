"""``gradcli ops``: the op table."""

from __future__ import annotations

from gradcli.commands.common import JSON_OPT, emit_json, make_console
from gradcli.ops import CONSTANTS, OPS

EPILOG = "Example:\n\n  gradcli ops\n\n  gradcli ops --json"


def ops_command(as_json: bool = JSON_OPT) -> None:
    """List every operation gradcli knows: derivative rule, domain and notes.

    This is the one table the parser, the engine, the numeric estimates and the PyTorch
    cross-check all read.
    """
    if as_json:
        emit_json(
            {
                "ops": [
                    {
                        "name": op.name,
                        "syntax": _syntax(op.name),
                        "rule": op.display_rule(),
                        "domain": op.domain,
                        "notes": op.notes,
                        "analytic": op.analytic,
                    }
                    for op in OPS.values()
                ],
                "constants": dict(CONSTANTS),
            }
        )
        return
    from rich.markup import escape

    from gradcli.render import table

    t = table("<name", "<syntax", "<derivative rule", "<domain", "<notes", title="operations")
    for op in OPS.values():
        t.add_row(
            op.name,
            escape(_syntax(op.name)),
            escape(op.display_rule()),
            escape(op.domain),
            escape(op.notes),
        )
    consts = ", ".join(f"{name} = {value!r}" for name, value in CONSTANTS.items())
    note = "Constants: " + consts + ". Any other name in an expression is a variable."
    make_console().print(t, note)


def _syntax(name: str) -> str:
    op = OPS[name]
    form = op.form()
    if op.arity < 0:
        form = form.replace("u_2", "u_2, ...") if op.function else form + " + ..."
    return form + (", u ^ n" if op.params and op.symbol == "**" else "")
