"""Renderers: pure functions from results to rich renderables. They never print.

Shared here: how numbers and points are shown, and the table style every command uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def num(x: float | None, digits: int | None = None) -> str:
    """A float as the shortest text that reads back to it (or ``digits`` significant digits)."""
    if x is None:
        return "—"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
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


def table(*columns: str, title: str | None = None, **kwargs: Any) -> Any:
    """A rich Table in gradcli's house style."""
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", **kwargs)
    for c in columns:
        # "<name": left-aligned text that may wrap; otherwise a right-aligned number that never
        # wraps or gets cut (a truncated number is a wrong number)
        if c.startswith("<"):
            t.add_column(c[1:], justify="left", overflow="fold")
        else:
            t.add_column(c, justify="right", no_wrap=True, min_width=len(c))
    return t


def header(rows: list[tuple[str, str]]) -> Any:
    """The key/value lines at the top of a command's output."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, value)
    return grid
