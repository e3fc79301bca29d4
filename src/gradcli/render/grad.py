"""``gradcli grad`` output: the gradient of one output, or the Jacobian of several."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.expr import clip
from gradcli.gradient import GradReport, JacobianReport, passes_note
from gradcli.render import header, num, point_text, problem_rows, sci, table


def render_grad(report: GradReport, note: str | None = None, width_limit: int = 60) -> Any:
    rows = problem_rows(report.expression.display, report.point, report.value, note)
    parts: list[Any] = [header(rows)]
    if report.gradient:
        column = "reverse mode" if report.mode == "reverse" else "forward mode"
        t = table(
            "<variable",
            "value",
            column,
            "<symbolic derivative (sympy)",
            "symbolic, evaluated",
            title="gradient",
        )
        cut = False
        for name, g in report.gradient.items():
            sym = report.symbolic.get(name)
            shown = escape(clip(sym, width_limit)) if sym is not None else "[dim]skipped[/dim]"
            cut = cut or (sym is not None and len(sym) > width_limit)
            t.add_row(
                escape(name),
                num(report.point[name]),
                num(g),
                shown,
                num(report.symbolic_value.get(name)),
            )
        parts.append(t)
        if cut:
            parts.append("[dim]long symbolic derivatives are cut; --json has them whole[/dim]")
        if report.mode == "forward":
            parts.append(f"[dim]{escape(passes_note('forward', 1, len(report.gradient)))}[/dim]")
    else:
        parts.append("[dim]The expression has no variables: there is no gradient to show.[/dim]")
    for n in report.notes:
        parts.append(f"[yellow]note:[/yellow] {escape(n)}")
    return Group(*parts)


def render_jacobian(report: JacobianReport) -> Any:
    """One row per output: its value and its partial derivatives, then how they were computed
    and how far sympy's exact Jacobian is from them."""
    rows = [
        (f"output {i + 1}", escape(clip(e.display, 2000))) for i, e in enumerate(report.expressions)
    ]
    rows.append(("point", escape(point_text(report.point)) or "(no variables)"))
    parts: list[Any] = [header(rows)]
    t = table(
        "output",
        "value",
        *(f"∂/∂{escape(v)}" for v in report.variables),
        title="Jacobian (one row per output, one column per variable)",
    )
    for i, (value, row) in enumerate(zip(report.values, report.jacobian)):
        t.add_row(str(i + 1), num(value), *(num(x) for x in row))
    parts.append(t)
    parts.append(
        f"[dim]{escape(passes_note(report.mode, len(report.expressions), len(report.variables)))}"
        "[/dim]"
    )
    if report.exact is not None:
        worst = 0.0
        for row, ex in zip(report.jacobian, report.exact):
            for x, y in zip(row, ex):
                if y is not None:
                    worst = max(worst, abs(x - y) / max(1.0, abs(y)))
        parts.append(
            f"sympy's exact Jacobian (50 digits) agrees to {sci(worst)} "
            "(largest |difference| / max(1, |exact|))"
        )
    for n in report.notes:
        parts.append(f"[yellow]note:[/yellow] {escape(n)}")
    return Group(*parts)
