"""``gradcli softmax`` output."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.nn import TOLERANCE, SoftmaxReport
from gradcli.render import header, num, sci, table

#: significant digits in the table, at most and at least (the JSON has every digit)
MAX_DIGITS = 12
MIN_DIGITS = 3

_TORCH_ABSENT = {
    "skipped": "skipped",
    "missing": "missing",
}


def shown_classes(report: SoftmaxReport, limit: int) -> list[int]:
    """Which rows to show: all of them, or the target and the most probable classes."""
    n = len(report.logits)
    if n <= limit:
        return list(range(n))
    order = sorted(range(n), key=lambda i: (-report.probs[i], i))
    keep = {report.target, *order[: limit - 1]}
    return sorted(keep)


def render_softmax(
    report: SoftmaxReport, note: str | None = None, width: int = 100, limit: int = 30
) -> Any:
    """The header, the per-class table (as many digits as ``width`` allows), the verdict."""
    n = len(report.logits)
    rows = [
        ("classes", f"{n:,}"),
        ("target", str(report.target)),
        ("loss", f"{num(report.loss)}  [dim](logsumexp(x) - x[{report.target}])[/dim]"),
    ]
    if note:
        rows.append(("", f"[dim]({escape(note)})[/dim]"))
    parts: list[Any] = [header(rows)]

    classes = shown_classes(report, limit)
    naive = report.naive
    absent = _TORCH_ABSENT.get(report.torch_status, "")
    columns: list[tuple[str, list[float | None] | None]] = [
        ("logit", [report.logits[i] for i in classes]),
        ("p\n(softmax)", [report.probs[i] for i in classes]),
    ]
    if naive is not None:
        columns.append(("exp(x)/\nsum(exp)", [naive.probs[i] for i in classes]))
    columns += [
        ("reverse\nmode", [report.gradient[i] for i in classes]),
        ("p -\nonehot", [report.closed_form[i] for i in classes]),
        ("central\ndiff.", [report.finite_difference[i] for i in classes]),
        ("PyTorch", [report.torch[i] for i in classes] if report.torch is not None else None),
    ]
    digits = _digits(columns, len(str(max(classes))), width, len(absent))
    t = table("class", *(name for name, _ in columns), title="gradient of the loss", pad_edge=False)
    for col in t.columns:  # two-line headers: as narrow as their longest line
        col.min_width = _header_width(str(col.header))
    for row, i in enumerate(classes):
        cells = [f"[bold]{i}[/bold]" if i == report.target else str(i)]
        for name, values in columns:
            if values is None:
                cells.append(f"[dim]{absent}[/dim]")
            elif values[row] is None:
                if name.startswith("exp"):
                    cells.append("[red]NaN[/red]")
                else:
                    cells.append("[dim]n/a[/dim]" if name.startswith("central") else "")
            elif name == "logit":
                cells.append(num(values[row], MAX_DIGITS))
            else:
                cells.append(num(values[row], digits))
        t.add_row(*cells)
    parts.append(t)
    if len(classes) < n:
        parts.append(
            f"[dim]showing {len(classes)} of {n:,} classes: the target and the most probable; "
            f"numbers to {digits} significant digits; --json gives every class and digit[/dim]"
        )
    missing = report.fd_missing
    if missing:
        which = ", ".join(str(i) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
        big = max(abs(report.logits[i]) for i in missing)
        parts.append(
            f"[yellow]note:[/yellow] central difference n/a for {len(missing):,} "
            f"class{'es' if len(missing) != 1 else ''} ({which}): a step around a logit of "
            f"magnitude {big:.4g} overflows a float; the other columns are compared as usual"
        )
    if report.torch_status == "skipped":
        parts.append("[dim]PyTorch column skipped (--no-torch)[/dim]")
    elif report.torch_status == "missing":
        parts.append(
            "[dim]PyTorch column missing: torch is not installed "
            + escape("(pip install 'gradcli[torch]' to compare with its cross_entropy)")
            + "[/dim]"
        )
    if naive is not None:
        if naive.problem:
            parts.append(
                f"[yellow]naive softmax:[/yellow] {escape(naive.problem)}; the stable form "
                "exp(x - max(x)) / sum(exp(x - max(x))) gives the probabilities above"
            )
        else:
            parts.append(
                "[dim]naive softmax: exp(x)/sum(exp(x)) computed directly is fine for these "
                "logits; it overflows once a logit passes 709.78 (try 1000 1001 1002)[/dim]"
            )
    parts.append(_verdict(report))
    return Group(*parts)


def _header_width(name: str) -> int:
    return max(len(line) for line in name.split("\n"))


def _digits(
    columns: list[tuple[str, list[float | None] | None]], class_width: int, width: int, absent: int
) -> int:
    """The most significant digits (MIN_DIGITS..MAX_DIGITS) that keep the table within
    ``width``: numbers are never cut, so fewer digits is how a wide table fits."""
    for digits in range(MAX_DIGITS, MIN_DIGITS, -1):
        # every column is padded by 1 on each side and separated by 1, less the two outer pads
        total = max(len("class"), class_width) + 2
        for name, values in columns:
            shown = MAX_DIGITS if name == "logit" else digits
            cells = [] if values is None else [num(v, shown) for v in values if v is not None]
            total += max([_header_width(name), absent, *(len(c) for c in cells)]) + 3
        if total <= width:
            return digits
    return MIN_DIGITS


_LABEL = {
    "closed_form": "p - onehot",
    "finite_difference": "central difference",
    "torch": "PyTorch",
}


def _verdict(report: SoftmaxReport) -> str:
    diffs = ", ".join(
        f"{_LABEL[k]} {sci(v)} (tolerance {sci(TOLERANCE[k], 0)})"
        for k, v in report.deviation.items()
    )
    if report.fd_missing and "finite_difference" not in report.deviation:
        diffs += ", central difference n/a"
    if report.agree:
        return f"[green]agree:[/green] every column matches reverse mode; largest gaps: {diffs}"
    bad = ", ".join(_LABEL[k] for k, ok in report.within.items() if not ok)
    return f"[red]MISMATCH:[/red] {bad} differ from reverse mode; largest gaps: {diffs}"
