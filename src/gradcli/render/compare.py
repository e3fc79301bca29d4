"""``gradcli compare`` output: estimates beside the references, the h sweep and its plots."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.text import Text

from gradcli.numeric import METHODS, CompareReport, MethodResult, worst_error
from gradcli.render import header, num, problem_rows, sci, table

#: variables shown in detail in the terminal (all of them are in --json)
MAX_VARIABLES = 6
#: reasons shown per method in the terminal
MAX_REASONS = 3
#: errors below this are drawn at this level (an exact estimate has error 0)
ERROR_FLOOR = 1e-17


def _digits(d: int | None) -> str:
    return "—" if d is None else str(d)


def render_compare(report: CompareReport, note: str | None = None) -> Any:
    """The estimates of every method, per variable, beside the two references."""
    rows = problem_rows(report.expression.display, report.point, report.value, note)
    rows += [
        ("exact reference", escape(report.reference_kind)),
        (
            "step h",
            f"--h {num(report.h, 3)} for every method"
            if report.h is not None
            else "each method's textbook step, times |x| (adaptive chooses its own)",
        ),
    ]
    parts: list[Any] = [header(rows)]
    if not report.reference:
        parts.extend(f"[yellow]note:[/yellow] {escape(n)}" for n in report.notes)
        return Group(*parts)
    parts.append(_summary(report))
    parts.append(
        "[dim]worst error: relative (absolute where the exact value is 0), the measure the "
        "tables below use too; digits: the fewest correct; own est.: the method's own error "
        "estimate, same measure[/dim]"
    )
    parts.append(_picks(report))
    parts.append(_formulas(report))
    names = list(report.reference)
    for name in names[:MAX_VARIABLES]:
        parts.append(_variable_table(report, name))
    stopped = _adaptive_stops(report)
    if stopped:
        parts.append(f"[dim]adaptive, {escape(stopped)}[/dim]")
    if len(names) > MAX_VARIABLES:
        parts.append(
            f"[dim]… {len(names) - MAX_VARIABLES:,} more variables (--json lists them all)[/dim]"
        )
    for m in report.methods.values():
        if not m.applicable and m.note:
            parts.append(f"[yellow]{escape(METHODS[m.name].label)}:[/yellow] {escape(m.note)}")
        shown = m.reasons[:MAX_REASONS]
        for reason in shown:
            parts.append(f"[yellow]{escape(METHODS[m.name].label)}:[/yellow] {escape(reason)}")
        if len(m.reasons) > len(shown):
            parts.append(f"[dim]  … and {len(m.reasons) - len(shown)} more not available[/dim]")
    parts.extend(f"[yellow]note:[/yellow] {escape(n)}" for n in report.notes)
    return Group(*parts)


def _summary(report: CompareReport) -> Any:
    t = table("<method", "<step h", "evals", "worst error", "digits", "own est.")
    t.title = "methods (errors against the exact reference; ★ best)"
    t.columns[0].no_wrap = True
    for name, m in report.methods.items():
        meth = METHODS[name]
        label = escape(meth.label)
        if name == report.best:
            label = f"[bold]{label} ★[/bold]"
        if not m.applicable:
            t.add_row(label, "—", "0", "not applicable", "—", "—")
            continue
        h_text = sci(m.h) if report.h is not None and m.h is not None else meth.step_text
        worst = m.score()
        digits = [d for d in m.digits.values() if d is not None]
        own = m.estimated_score()
        t.add_row(
            label,
            h_text,
            f"{m.evaluations:,}",
            sci(worst) if math.isfinite(worst) else "n/a",
            _digits(min(digits)) if len(digits) == len(m.digits) else "n/a",
            sci(own) if own is not None else "—",
        )
    return t


def _picks(report: CompareReport) -> Any:
    """Which method is best, by the truth and by the methods' own words."""
    if report.kinks:
        return "[dim]no best method: at a kink the derivative does not exist (see the notes)[/dim]"
    truth = METHODS[report.best].label if report.best else "none (every method misses)"
    own = METHODS[report.best_estimated].label if report.best_estimated else "—"
    return (
        f"best against the exact reference: [bold]{escape(truth)}[/bold]; best by the methods' "
        f"own error estimates (what you would pick without the reference): "
        f"[bold]{escape(own)}[/bold]"
    )


def _formulas(report: CompareReport) -> Any:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(style="dim", overflow="fold")
    for name in report.methods:
        grid.add_row(f"  {escape(METHODS[name].label)}", escape(METHODS[name].formula))
    return grid


def _variable_table(report: CompareReport, name: str) -> Any:
    exact = report.reference[name]
    t = table(
        "<method",
        "h",
        "estimate",
        "abs err",
        "rel err",
        "own est.",
        title=f"∂f/∂{escape(name)} at {escape(name)} = {num(report.point[name])}: "
        f"exact {num(exact)}",
    )
    t.columns[0].no_wrap = True
    ab, rel = report.analytic_abs_error[name], report.analytic_rel_error[name]
    t.add_row(
        "reverse mode",
        "—",
        num(report.analytic[name]),
        sci(ab),
        sci(rel),
        "—",
    )
    for mname, m in report.methods.items():
        if not m.applicable:
            continue
        label = escape(METHODS[mname].label)
        if mname == report.best:
            label = f"[bold]{label}[/bold]"
        est = m.estimate[name]
        own = (m.error_estimate or {}).get(name)
        own_text = sci(own) if own is not None else "—"
        t.add_row(
            label,
            sci(m.steps.get(name), 1),
            num(est) if est is not None else "[yellow]not available[/yellow]",
            sci(m.abs_error[name]),
            sci(m.rel_error[name]),
            escape(own_text),
        )
    return t


def _adaptive_stops(report: CompareReport) -> str:
    """How the adaptive partials that did not converge stopped, in words."""
    words = {
        "evaluation limit": "stopped at its evaluation limit",
        "non-finite": "met values that are not finite numbers",
        "poor start": "found no starting step that extrapolates stably (a pole or a sharp wiggle "
        "near the point?): do not trust it",
    }
    said: list[str] = []
    for m in report.methods.values():
        for var, status in (m.status or {}).items():
            if status in words:
                said.append(f"∂f/∂{var}: {words[status]}")
    return "; ".join(said)


def _digits_of(ab: float | None, rel: float | None) -> int | None:
    err = worst_error(rel, ab)
    if err is None:
        return None
    return 16 if err == 0 else max(0, min(16, math.floor(-math.log10(err))))


# ---- the sweep ----------------------------------------------------------------------------------


def render_sweep(report: CompareReport, name: str, width: int = 64, height: int = 18) -> Any:
    """The error of every method against h for one variable: a table and a log-log plot."""
    sweep = report.sweep or {}
    methods = [m for m in sweep if sweep[m]]
    if not methods:
        return Text("no method to sweep")
    # a two-word label on two lines: seven columns then fit 80 columns
    t = table("h", *(METHODS[m].label.replace(" ", "\n") for m in methods))
    heading = Text(f"sweep: |error| of ∂f/∂{name} against h (* = smallest error of that method)")
    best = {m: report.best_sweep_step(m, name) for m in methods}
    for i, p in enumerate(sweep[methods[0]]):
        cells = []
        for m in methods:
            err = sweep[m][i].abs_error.get(name)
            cell = sci(err, 1) if err is not None else "n/a"
            cells.append(cell + ("*" if best[m] == p.h else " "))
        t.add_row(sci(p.h, 0), *cells)
    return Group(heading, t, ascii_plot(report, name, width, height))


def ascii_plot(report: CompareReport, name: str, width: int = 64, height: int = 18) -> Any:
    """A log-log plot of |error| against h drawn with characters: the V of truncation against
    round-off error, with each method's measured best h and theoretical optimum marked."""
    sweep = report.sweep or {}
    series: dict[str, list[tuple[float, float]]] = {}
    for m, points in sweep.items():
        pts = []
        for p in points:
            err = p.abs_error.get(name)
            if err is not None and p.h > 0:
                pts.append((math.log10(p.h), math.log10(max(err, ERROR_FLOOR))))
        if pts:
            series[m] = sorted(pts)
    if not series:
        return Text("nothing to plot: no estimate was available")
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1

    def col(x: float) -> int:
        return round((x - x0) / (x1 - x0) * (width - 1))

    def row(y: float) -> int:
        return round((y1 - y) / (y1 - y0) * (height - 1))

    grid: list[list[tuple[str, str]]] = [[(" ", "")] * width for _ in range(height)]
    shared = False
    # the lines first (dots), then the points on top; two methods on one cell show "+"
    for m, pts in series.items():
        for (xa, ya), (xb, yb) in pairwise(pts):
            ca, cb = col(xa), col(xb)
            for c in range(ca + 1, cb):
                y = ya + (yb - ya) * (c - ca) / (cb - ca)
                r = row(y)
                if grid[r][c][0] == " ":
                    grid[r][c] = ("·", METHODS[m].style)
    for m, pts in series.items():
        for x, y in pts:
            r, c = row(y), col(x)
            here = grid[r][c][0]
            mark = METHODS[m].marker
            if here not in (" ", "·", mark):
                grid[r][c] = ("+", "bold")
                shared = True
            else:
                grid[r][c] = (mark, METHODS[m].style)

    out = Text()
    out.append(f"|error| of ∂f/∂{name} against h, log-log\n", style="bold")
    label_rows = {0, height - 1, (height - 1) // 2}
    for r in range(height):
        y = y1 - r * (y1 - y0) / (height - 1)
        label = f"1e{round(y):+03d}" if r in label_rows else ""
        out.append(f"{label:>6} {'┤' if label else '│'}")
        for ch, style in grid[r]:
            out.append(ch, style=style or None)
        out.append("\n")
    out.append(" " * 7 + "└" + "─" * width + "\n")
    left, right = f"1e{round(x0):+03d}", f"1e{round(x1):+03d}"
    out.append(" " * 8 + left + " " * max(1, width - len(left) - len(right) - 4) + right + "  h\n")
    out.append(_mark_row("theory", {m: report.optimal_step(m, name) for m in series}, col, x0, x1))
    out.append(_mark_row("best", {m: report.best_sweep_step(m, name) for m in series}, col, x0, x1))
    keys = [f"{METHODS[m].marker} {METHODS[m].label}" for m in series]
    for i in range(0, len(keys), 3):
        out.append(f"{'':>6}  {'   '.join(keys[i : i + 3])}\n", style="dim")
    lines = ["· the line between one method's points"]
    if shared:
        lines.append("+ two or more methods in one cell")
        if {"forward", "backward"} <= set(series):
            lines.append("  (forward and backward nearly always share one: their errors are the")
            lines.append("  same size, so f and b rarely show on their own)")
    lines.append("theory: the textbook optimal step; best: the smallest measured error")
    if "complex_step" in series:
        lines.append("(complex step has no optimum: any tiny h is exact to round-off)")
    out.append("".join(f"{'':>6}  {line}\n" for line in lines), style="dim")
    return out


def _mark_row(label: str, steps: dict[str, float | None], col: Any, x0: float, x1: float) -> Text:
    cells: dict[int, tuple[str, str]] = {}
    for m, h in steps.items():
        if h is None or h <= 0:
            continue
        x = math.log10(h)
        if not x0 - 1e-9 <= x <= x1 + 1e-9:
            continue
        c = col(x)
        while c in cells:  # two methods at one step: side by side
            c += 1
        cells[c] = (METHODS[m].marker, METHODS[m].style)
    text = Text(f"{label:>6}  ")
    width = max(cells) + 1 if cells else 0
    for c in range(width):
        ch, style = cells.get(c, (" ", ""))
        text.append(ch, style=style or None)
    text.append("\n")
    return text


def save_plot(report: CompareReport, name: str, path: Path) -> None:
    """The sweep as an image (PNG or SVG, by the file's extension) with matplotlib."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5))
    ax = fig.add_subplot()
    for m, points in (report.sweep or {}).items():
        pts = [(p.h, p.abs_error.get(name)) for p in points]
        hs = [h for h, e in pts if e is not None]
        es = [max(e, ERROR_FLOOR) for _, e in pts if e is not None]
        if not hs:
            continue
        color = f"C{list(METHODS).index(m)}"
        ax.loglog(hs, es, marker="o", ms=3, color=color, label=METHODS[m].title)
        best = report.best_sweep_step(m, name)
        if best is not None:
            ax.loglog([best], [es[hs.index(best)]], marker="*", ms=14, color=color, ls="none")
        theory = report.optimal_step(m, name)
        if theory is not None:
            ax.axvline(theory, color=color, ls=":", lw=1)
    ax.set_xlabel("step h")
    ax.set_ylabel(f"|error| of ∂f/∂{name}")
    ax.set_title(
        "Numerical derivative error against h (★ measured best, dotted: theoretical optimum)",
        fontsize=9,
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


__all__ = ["MethodResult", "ascii_plot", "render_compare", "render_sweep", "save_plot"]
