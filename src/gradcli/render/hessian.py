"""``gradcli hessian`` output: the matrix, its entries three ways, its eigenvalues."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.expr import clip
from gradcli.hessian import HessianReport
from gradcli.render import header, labeled, num, problem_rows, sci, table

#: the matrix is drawn up to this many variables (wider, --json has it)
MAX_MATRIX = 8
#: entries are listed one per line (with sympy's formula) up to this many variables
MAX_ENTRIES = 5
#: eigenvalues listed in full up to this many
MAX_EIGEN = 12


def _entry(a: str, b: str) -> str:
    return f"∂²f/∂{a}²" if a == b else f"∂²f/∂{a}∂{b}"


def render_hessian(report: HessianReport, note: str | None = None, width_limit: int = 60) -> Any:
    rows = problem_rows(report.expression.display, report.point, report.value, note)
    names = report.variables
    if not names:
        return Group(
            header(rows),
            "[dim]The expression has no variables: there is no Hessian to show.[/dim]",
        )
    grad_text = ", ".join(f"∂f/∂{n} = {num(g)}" for n, g in zip(names, report.gradient))
    rows.append(("gradient", escape(clip(grad_text, 2000))))
    parts: list[Any] = [header(rows)]

    if len(names) <= MAX_MATRIX:
        parts.append("[bold]Hessian[/bold] (reverse over reverse)")
        t = table("<", *(escape(n) for n in names))
        for n, row in zip(names, report.hessian):
            t.add_row(escape(n), *(num(x) for x in row))
        parts.append(t)
    else:
        parts.append(
            f"[dim]The {len(names)}x{len(names)} Hessian is too wide to draw; --json has it.[/dim]"
        )
    parts.append(
        f"[dim]{report.passes} backward pass{'es' if report.passes != 1 else ''} over the "
        "gradient graph (one per variable), after one that built the gradient as Values[/dim]"
    )

    if len(names) <= MAX_ENTRIES:
        t = table(
            "<entry",
            "reverse mode",
            "sympy, 50 digits",
            "finite diff.",
            title="each entry three ways (the upper triangle: H is symmetric)",
        )
        for i, a in enumerate(names):
            for j in range(i, len(names)):
                exact = report.exact[i][j] if report.exact is not None else None
                t.add_row(
                    escape(_entry(a, names[j])),
                    num(report.hessian[i][j]),
                    num(exact),
                    num(report.fd.hessian[i][j]),
                )
        parts.append(t)
        if report.symbolic is not None:
            entries: list[tuple[str, str]] = []
            cut = False
            for i, a in enumerate(names):
                for j in range(i, len(names)):
                    text = report.symbolic[i][j]
                    cut = cut or len(text) > width_limit
                    entries.append(
                        (escape(_entry(a, names[j])), "= " + escape(clip(text, width_limit)))
                    )
            parts.append("[bold]symbolic entries (sympy)[/bold]")
            parts.append(labeled(entries))
            if cut:
                parts.append("[dim]  long entries are cut; --json has them whole[/dim]")

    against = {"exact": "sympy", "reverse mode": "reverse mode"}.get(report.fd.against, "sympy*")
    parts.append("[bold]errors[/bold] (relative; absolute where the entry is 0)")
    errors: list[tuple[str, str]] = []
    if report.exact is not None:
        errors.append(("reverse over reverse vs sympy", sci(report.max_rel_error)))
    errors.append((f"finite differences vs {against}", sci(report.fd.max_rel_error)))
    steps = ", ".join(f"{n}: {sci(h)}" for n, h in zip(names[:6], report.fd.steps))
    more = ", ..." if len(names) > 6 else ""
    errors.append(
        (
            "[dim]finite-difference steps[/dim]",
            f"[dim]{escape(steps)}{more} (central differences of the reverse-mode gradient)[/dim]",
        )
    )
    parts.append(labeled(errors))
    if against == "sympy*":
        parts.append("[dim]  * reverse mode where sympy's entry is undefined at this point[/dim]")

    eig = report.eigenvalues
    shown = ", ".join(num(x) for x in eig[:MAX_EIGEN])
    if len(eig) > MAX_EIGEN:
        shown += f", ... ({len(eig)} in all; largest {num(eig[-1])})"
    style = {"positive definite": "green", "negative definite": "cyan", "indefinite": "yellow"}
    color = style.get(report.definiteness, "white")
    verdict = (
        f"[bold {color}]{report.definiteness}[/bold {color}]; "
        f"[bold]stationary:[/bold] {'yes' if report.stationary else 'no'} "
        f"(largest |∂f/∂x| = {sci(max(abs(g) for g in report.gradient))})"
    )
    parts.append(
        labeled(
            [("eigenvalues", shown), ("the Hessian is", verdict), ("so", escape(report.meaning))]
            + [("[yellow]note[/yellow]", escape(n)) for n in report.notes],
            indent=0,
            style="bold",
        )
    )
    return Group(*parts)
