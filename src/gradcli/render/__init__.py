"""Renderers: pure functions from results to rich renderables. They never print.

Shared here: how numbers and points are shown, and the table style every command uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any


def num(x: float | None, digits: int | None = None) -> str:
    """A float as the shortest text that reads back to it (or ``digits`` significant digits)."""
    if x is None:
        return "—"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if x == 0:
        x = 0.0  # -0.0 says nothing a reader needs: show 0.0
    if digits is not None:
        return f"{x:.{digits}g}"
    x = float(x)
    if x == int(x) and abs(x) < 1e16:
        return f"{x:.1f}"
    return repr(x)


def sci(x: float | None, digits: int = 2) -> str:
    """Errors and steps: scientific notation, short."""
    if x is None:
        return "—"
    if x == 0:
        return "0"
    return f"{x:.{digits}e}"


def point_text(point: Mapping[str, float]) -> str:
    return ", ".join(f"{k} = {num(v)}" for k, v in point.items())


#: narrowest a text column may get before a table switches to one record per row
TEXT_MIN_WIDTH = 12


def table(*columns: str, title: str | None = None, **kwargs: Any) -> Any:
    """A rich Table in gradcli's house style.

    ``"<name"`` is a left-aligned text column that may wrap; any other name is a right-aligned
    number column that never wraps or gets cut (a truncated number is a wrong number). When the
    terminal is too narrow for the numbers and at least TEXT_MIN_WIDTH per text column, the
    table prints as one block per row instead ("header: value" lines), so nothing is dropped.
    """
    from rich import box

    t = _fit_table_class()(title=title, box=box.SIMPLE_HEAD, title_justify="left", **kwargs)
    for c in columns:
        if c.startswith("<"):
            width = min(TEXT_MIN_WIDTH, len(c) - 1)
            t.add_column(c[1:], justify="left", overflow="fold", min_width=width)
        else:
            # headers too; a header may take two lines ("complex\nstep") to keep a table narrow
            width = max(len(line) for line in c.split("\n"))
            t.add_column(c, justify="right", no_wrap=True, min_width=width)
    return t


@cache
def _fit_table_class() -> Any:
    """A Table that falls back to records when too narrow (made on first use: importing
    gradcli.render stays light)."""
    from rich.measure import Measurement
    from rich.table import Table

    class FitTable(Table):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            # a number column is as wide as its widest number: rich's own minimum would let it
            # shrink to its header's widest word and cut the numbers with an ellipsis
            for column in self.columns:
                if column.no_wrap and column.justify == "right":
                    widest = max((_cell_len(c) for c in column.cells), default=0)
                    column.min_width = max(column.min_width or 0, widest)
            need = Measurement.get(console, options.update(width=10_000), self).minimum
            if need <= options.max_width:
                yield from super().__rich_console__(console, options)
            else:
                yield from _records(self).__rich_console__(console, options)

    return FitTable


def _cell_len(cell: Any) -> int:
    from rich.text import Text

    if isinstance(cell, str):
        return Text.from_markup(cell).cell_len
    return Text(str(cell)).cell_len if not hasattr(cell, "cell_len") else int(cell.cell_len)


def _records(t: Any) -> Any:
    """The rows of a table as blocks of "header: value" lines (for narrow terminals)."""
    from rich.console import Group
    from rich.table import Table

    blocks: list[Any] = []
    if t.title:
        blocks.append(t.title)
    columns = list(t.columns)
    rows = [list(c.cells) for c in columns]
    for i in range(t.row_count):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for col, cells in zip(columns, rows, strict=True):
            grid.add_row(str(col.header), cells[i])
        blocks.extend([grid, ""])
    return Group(*blocks)


def header(rows: list[tuple[str, str]]) -> Any:
    """The key/value lines at the top of a command's output."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def labeled(rows: list[tuple[str, str]], indent: int = 2, style: str = "") -> Any:
    """Lines of "label  text" indented by ``indent``, where a long text wraps under itself, not
    at column 0."""
    from rich.padding import Padding
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style=style)
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, value)
    return Padding(grid, (0, 0, 0, indent))


def problem_rows(
    expression: str,
    point: Mapping[str, float],
    value: float,
    note: str | None = None,
    limit: int = 2000,
) -> list[tuple[str, str]]:
    """The rows every expression command starts with: expression (and the example note),
    point, value. Callers append their own rows and pass the list to :func:`header`."""
    from rich.markup import escape

    from gradcli.expr import clip

    rows = [("expression", escape(clip(expression, limit)))]
    if note:
        rows.append(("", f"[dim]({escape(note)})[/dim]"))
    rows.append(("point", escape(point_text(point)) or "(no variables)"))
    rows.append(("value", num(value)))
    return rows
