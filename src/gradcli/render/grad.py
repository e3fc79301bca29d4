"""``gradcli grad`` output."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.expr import clip
from gradcli.gradient import GradReport
from gradcli.render import header, num, problem_rows, table


def render_grad(report: GradReport, note: str | None = None, width_limit: int = 60) -> Any:
    rows = problem_rows(report.expression.display, report.point, report.value, note)
    parts: list[Any] = [header(rows)]
    if report.gradient:
        t = table(
            "<variable",
            "value",
            "reverse mode",
            "<symbolic derivative (sympy)",
            "symbolic, evaluated",
            title="gradient",
        )
        for name, g in report.gradient.items():
            sym = report.symbolic.get(name)
            t.add_row(
                escape(name),
                num(report.point[name]),
                num(g),
                escape(clip(sym, width_limit)) if sym is not None else "[dim]skipped[/dim]",
                num(report.symbolic_value.get(name)),
            )
        parts.append(t)
    else:
        parts.append("[dim]The expression has no variables: there is no gradient to show.[/dim]")
    for n in report.notes:
        parts.append(f"[yellow]note:[/yellow] {escape(n)}")
    return Group(*parts)
