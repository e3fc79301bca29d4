"""``gradcli grade`` output: the gradebook as a table, CSV, JSON Lines or Gradescope's
``results.json``, each student's feedback as plain text, and the class summary.

Pure functions: they return renderables, text or dicts; the command writes them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.learner.grade import Gradebook, Row
from gradcli.learner.report import FolderReport
from gradcli.render import header, table

#: the gradebook's first columns; one per exercise or op follows
CSV_FIELDS = ("student", "status", "score", "passed", "failed", "first_fix")

_STATUS = {
    "done": "[green]done[/green]",
    "wrong": "[bold red]wrong[/bold red]",
    "todo": "[yellow]todo[/yellow]",
    "error": "[bold magenta]error[/bold magenta]",
}

#: the width feedback text is laid out for
FEEDBACK_WIDTH = 100


def score_text(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x not in (0.0, 1.0) else f"{x:.0f}"


def render_gradebook(book: Gradebook) -> Any:
    """The table, one row per student, then the class summary."""
    t = table("<student", "<status", "score", "passed", "failed", "<first fix", title="gradebook")
    for row in book.rows:
        t.add_row(
            escape(row.student),
            _STATUS[row.status],
            f"{row.score:.2f}",
            str(row.passed),
            str(row.failed),
            escape(_clip(row.first_fix(), 160)),
        )
    return Group(t, render_summary(book))


def render_summary(book: Gradebook) -> Any:
    """What fails most often across the class, and which submissions did not finish."""
    parts: list[Any] = []
    counts = book.summary_json()["status"]
    n = len(book.rows)
    parts.append(
        f"[bold]{n} submission{'s' if n != 1 else ''}[/bold]: "
        + ", ".join(f"{counts[s]} {s}" for s in ("done", "wrong", "todo", "error") if counts[s])
        + f" [dim]({book.seconds:.1f} s; expected values: {escape(book.reference)})[/dim]"
    )
    most = book.most_failed()
    if most:
        parts.append("[bold]fails most often[/bold] [dim](the part of the lecture to repeat)[/dim]")
        t = table("<rule", "students")
        for rule, k in most:
            t.add_row(escape(rule), f"{k} of {n}")
        parts.append(t)
    unfinished = book.unfinished()
    if unfinished:
        parts.append("[bold]did not load or did not finish[/bold]")
        t = table("<student", "<why")
        for student, why in unfinished:
            t.add_row(escape(student), escape(_clip(why, 200)))
        parts.append(t)
    return Group(*parts)


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def plain(renderable: Any, width: int = FEEDBACK_WIDTH) -> str:
    """A renderable as plain text (no colour, no terminal codes), as ``check`` prints it."""
    from rich.console import Console

    buf = io.StringIO()
    Console(
        file=buf,
        width=width,
        color_system=None,
        force_terminal=False,
        force_jupyter=False,
        highlight=False,
        soft_wrap=False,
        emoji=False,
    ).print(renderable)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def feedback(row: Row) -> Any:
    """What ``gradcli check`` shows for this submission (every file of a folder in detail)."""
    from gradcli.render.check import render_file, render_folder

    parts: list[Any] = [header([("student", escape(row.student)), ("status", row.status)])]
    if row.report is None:
        parts.append(f"[bold red]{escape(row.error or 'not checked')}[/bold red]")
        return Group(*parts)
    if row.unfinished:
        parts.append("[bold red]did not finish:[/bold red]")
        parts.extend(f"  {escape(u)}" for u in row.unfinished)
    if isinstance(row.report, FolderReport):
        parts.append(render_folder(row.report))
        parts.extend(render_file(r) for r in row.report.reports if r.status != "done")
    else:
        parts.append(render_file(row.report))
    return Group(*parts)


def feedback_text(row: Row) -> str:
    return plain(feedback(row))


def gradebook_csv(book: Gradebook) -> str:
    """One row per student: ``student, status, score, passed, failed, first_fix``, then the
    fraction passed of each exercise or op."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_FIELDS, *book.columns])
    for row in book.rows:
        w.writerow(
            [
                row.student,
                row.status,
                f"{row.score:.6g}",
                row.passed,
                row.failed,
                " ".join(row.first_fix().split()),
                *(f"{row.columns.get(c, 0.0):.6g}" for c in book.columns),
            ]
        )
    return buf.getvalue()


def gradebook_jsonl(book: Gradebook) -> str:
    """JSON Lines: one object per student, ``check``'s JSON as its ``report``."""
    return "".join(json.dumps(r.to_json(), allow_nan=False) + "\n" for r in book.rows)


def gradescope(row: Row, book: Gradebook) -> dict[str, Any]:
    """Gradescope's autograder ``results.json`` for one student: one test per exercise or op
    (its weighted checks passed of those the class had), the feedback as the output."""
    tests = []
    total = 0.0
    for col in book.columns:
        frac = row.columns.get(col, 0.0)
        col_max = book.column_points.get(col, 0.0)
        got = round(frac * col_max, 4)
        total += got
        tests.append(
            {
                "name": col,
                "score": got,
                "max_score": round(col_max, 4),
                "status": "passed" if frac >= 1.0 - 1e-12 and col_max > 0 else "failed",
                "output": _column_output(row, col),
            }
        )
    return {
        "score": round(total, 4),
        "output": feedback_text(row),
        "tests": tests,
        "extra_data": {"status": row.status, "fraction": round(row.score, 6)},
    }


def _column_output(row: Row, col: str) -> str:
    lines = []
    for file, c in row.checks:
        if (file or c.op or c.target) != col or c.passed:
            continue
        lines.append(f"{c.status}: {c.hint or c.name + ': ' + c.message}")
    if row.report is None:
        return row.error or ""
    if not lines:
        return "all checks pass" if row.columns.get(col, 0.0) >= 1.0 - 1e-12 else "not written"
    return "\n".join(lines[:20]) + (f"\n... and {len(lines) - 20} more" if len(lines) > 20 else "")
