"""``gradcli verify-torch`` output."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.expr import clip
from gradcli.render import header, num, point_text, sci, table
from gradcli.torchcheck import Case, Quantity, VerifyReport

#: failed cases shown in full under the suite's table
MAX_DETAILS = 10


def render_verify(report: VerifyReport) -> Any:
    rows: list[tuple[str, str]] = []
    if report.suite:
        rows.append(
            (
                "suite",
                "built-in: micrograd's exercise, softmax + NLL, micrograd's test_sanity_check and "
                "test_more_ops, every op in the op table at several points (kinks included)",
            )
        )
    elif report.jacobian:
        for i, case in enumerate(report.cases):
            rows.append((f"output {i + 1}", escape(clip(case.expression, 2000))))
        point = {k: v for c in report.cases for k, v in c.point.items()}
        rows.append(("point", escape(point_text(point)) or "(no variables)"))
    else:
        case = report.cases[0]
        rows.append(("expression", escape(clip(case.expression, 2000))))
        rows.append(("point", escape(point_text(case.point)) or "(no variables)"))
    rows += [
        ("torch", f"{report.dtype} on {report.device}, autograd"),
        (
            "agreement",
            f"|gradcli - torch| <= atol + rtol*|torch|, rtol={report.rtol:g}, atol={report.atol:g}",
        ),
    ]
    parts: list[Any] = [header(rows)]
    if report.suite:
        parts.append(_suite_table(report))
        failed = [c for c in report.cases if not c.passed]
        for case in failed[:MAX_DETAILS]:
            parts.append(_case_table(case, title=f"FAILED {case.name}: {case.expression}"))
        if len(failed) > MAX_DETAILS:
            parts.append(f"[dim]... and {len(failed) - MAX_DETAILS} more failed cases[/dim]")
    else:
        for i, case in enumerate(report.cases):
            title = "gradcli (Value graph, float64) vs PyTorch autograd"
            if report.jacobian:
                title = f"output {i + 1}: row {i + 1} of the Jacobian"
            parts.append(_case_table(case, title=title))
            if report.gradcheck:
                parts.append(f"[bold]gradcheck[/bold]  {_gradcheck_text(case, long=True)}")
                if report.hessian:
                    parts.append(
                        f"[bold]gradgradcheck[/bold]  {_gradgradcheck_text(case, long=True)}"
                    )
        case = report.cases[0]
        if any(not math.isfinite(q.torch) for q in case.quantities):
            limit = (
                " (float32 holds numbers up to about 3.4e38)" if report.dtype == "float32" else ""
            )
            parts.append(
                f"[yellow]note:[/yellow] torch's result is not a finite number{limit}; "
                "JSON shows it as null"
            )
    for n in report.notes:
        parts.append(f"[yellow]note:[/yellow] {escape(n)}")
    by_atol = [c for c in report.cases if c.passed and c.by_atol]
    if by_atol:
        names = ", ".join(
            f"{escape(c.name)} ({', '.join(_label_of(n) for n in c.by_atol)})"
            if report.suite
            else ", ".join(_label_of(n) for n in c.by_atol)
            for c in by_atol[:8]
        )
        more = f", ... ({len(by_atol)} cases)" if len(by_atol) > 8 else ""
        parts.append(
            f"[yellow]note:[/yellow] ok (atol) = passes only through atol={report.atol:g}: the "
            f"difference is above rtol*|torch| (a tiny value, where relative differences are "
            f"large): {names}{more}"
        )
    style = "green" if report.passed else "red"
    parts.append(f"[bold {style}]{report.n_passed} passed, {report.n_failed} failed[/bold {style}]")
    return Group(*parts)


def _verdict(passed: bool, by_atol: bool = False) -> str:
    if passed and by_atol:
        return "[yellow]ok (atol)[/yellow]"
    return "[green]ok[/green]" if passed else "[bold red]FAIL[/bold red]"


def _label_of(name: str) -> str:
    if name == "value":
        return "value"
    return escape(name) if name.startswith("∂²") else f"∂/∂{escape(name)}"


def _label(q: Quantity) -> str:
    if q.name == "value":
        return "value"
    return escape(q.name) if q.name.startswith("∂²") else f"∂/∂{escape(q.name)}"


def _rel(q: Quantity) -> str:
    return sci(q.rel_diff) if q.rel_diff is not None else "—"


def _case_table(case: Case, title: str) -> Any:
    # short headers: two full-precision numbers side by side still fit in 80 columns
    t = table("<", "gradcli", "torch", "abs diff", "rel diff", "<ok?", title=title)
    # a label or a verdict folded over lines reads badly; the numbers never fold (render.table)
    t.columns[0].min_width = max(len(_label(q)) for q in case.quantities)
    verdicts = ["ok (atol)" if q.by_atol else "FAIL" for q in case.quantities]
    t.columns[-1].min_width = max(len(v) for v in verdicts)
    for q in case.quantities:
        t.add_row(
            _label(q),
            num(q.gradcli),
            num(q.torch),
            sci(q.abs_diff),
            _rel(q),
            _verdict(q.passed, q.by_atol),
        )
    return t


def _suite_table(report: VerifyReport) -> Any:
    columns = ["<case", "abs diff", "rel diff", "<verdict"]
    if report.gradcheck:
        columns.append("<gradcheck")
        if report.hessian:
            columns.append("<gradgrad")
    t = table(
        *columns,
        title="gradcli vs PyTorch autograd (largest difference over the value and "
        "every partial derivative)",
    )
    for case in report.cases:
        qs = case.quantities
        rels = [q.rel_diff for q in qs]
        rel = (
            None
            if any(r is None and q.abs_diff for r, q in zip(rels, qs, strict=True))
            else max((r or 0.0) for r in rels)
        )
        row = [
            escape(case.name),
            sci(max(q.abs_diff for q in qs)),
            sci(rel) if rel is not None else "—",
            _verdict(case.passed, bool(case.by_atol)),
        ]
        if report.gradcheck:
            row.append(_gradcheck_text(case))
            if report.hessian:
                row.append(_gradgradcheck_text(case))
        t.add_row(*row)
    return t


def _gradcheck_text(case: Case, long: bool = False) -> str:
    return _check_text("gradcheck", case.gradcheck, case.gradcheck_note, case.kink, long)


def _gradgradcheck_text(case: Case, long: bool = False) -> str:
    return _check_text(
        "gradgradcheck", case.gradgradcheck, case.gradgradcheck_note, case.kink, long
    )


def _check_text(name: str, result: bool | None, note: str, kink: bool, long: bool) -> str:
    if result is True:
        return "[green]ok[/green]" + (
            f" (torch.autograd.{name} passed, in float64)" if long else ""
        )
    if result is False:
        why = f": {escape(note)}" if long and note else ""
        return f"[bold red]FAIL[/bold red]{why}"
    if note:
        short = "skipped (kink)" if kink else "skipped"
        return f"[dim]{escape(note if long else short)}[/dim]"
    return "—"
