"""``gradcli ops`` output: the table (narrow enough for 80 columns) and one op in full."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.ops import CONSTANTS, Op
from gradcli.render import header, table

#: from this terminal width on, the table also shows each op's short note
WIDE = 120


def render_ops(ops: list[Op], width: int = 80) -> Any:
    wide = width >= WIDE
    columns = ["<name", "<syntax", "<derivative rule"] + (["<notes"] if wide else [])
    t = table(*columns, title="operations")
    t.columns[0].no_wrap = True
    for op in ops:
        row = [op.name, escape(op.syntax), escape(op.display_rule())]
        if wide:
            row.append(escape(op.notes))
        t.add_row(*row)
    consts = ", ".join(f"{name} = {value!r}" for name, value in CONSTANTS.items())
    return Group(
        t,
        f"Constants: {consts}. Any other name in an expression is a variable.",
        "[dim]gradcli ops NAME shows one operation in full: domain, notes, the convention at "
        "kinks, where PyTorch differs.[/dim]",
    )


def render_op(op: Op) -> Any:
    rows = [
        ("name", op.name),
        ("syntax", escape(op.syntax)),
    ]
    if op.aliases:
        rows.append(("also", escape(", ".join(op.aliases))))
    rows.append(("derivative", escape(op.display_rule())))
    rows.append(("domain", escape(op.domain)))
    if op.notes:
        rows.append(("notes", escape(op.notes)))
    if op.details:
        rows.append(("details", escape(op.details)))
    if op.kink is not None:
        rows.append(("at a kink", escape(op.convention)))
    if op.convention2:
        rows.append(("2nd derivative", escape(op.convention2)))
    rows.append(
        (
            "complex step",
            "applies (analytic)"
            if op.analytic
            else "applies away from its kinks (the branch at the point is analytic)",
        )
    )
    if op.function:
        rows.append(("Python", escape(f"Value.{op.name}()")))
    if op.hints:
        rows.append(("not this", escape("; ".join(f"{a}: {b}" for a, b in op.hints))))
    return header(rows)
