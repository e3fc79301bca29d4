"""``gradcli check`` and ``gradcli exercises`` output."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape

from gradcli.learner.report import Check, FileReport, FolderReport
from gradcli.render import header, num, table

_VERDICT = {
    "pass": "[green]ok[/green]",
    "fail": "[bold red]FAIL[/bold red]",
    "todo": "[yellow]todo[/yellow]",
    "not_run": "[yellow]not run[/yellow]",
    "skipped": "[dim]not checked[/dim]",
}

_STATUS = {
    "done": "[green]done[/green]",
    "wrong": "[bold red]wrong[/bold red]",
    "todo": "[yellow]todo[/yellow]",
}


def _cell(x: float | None) -> str:
    """12 significant digits: -2.1, not -2.0999999999999996 (the JSON has every digit)."""
    if x is None:
        return "—"
    return num(float(f"{x:.12g}"))


def _group_key(c: Check) -> str:
    return c.group


def render_file(report: FileReport, verbose: bool = False) -> Any:
    """Header, what to fix first, a table per piece (failures first), notes, the tally."""
    rows = [("file", escape(report.file) + _SOURCE.get(report.source, ""))]
    names = _names(report.adapter)
    if names:
        rows.append(("names", escape(names)))
    if report.found:
        rows.append(("found", escape(", ".join(report.found))))
    if report.skipped:
        rows.append(("skipped", escape(", ".join(report.skipped)) + " [dim](not defined)[/dim]"))
    if report.reference:
        rows.append(("expected", escape(report.reference)))
    parts: list[Any] = [header(rows)]
    if report.load_error is not None:
        parts.append(f"[bold red]{escape(report.load_error)}[/bold red]")
        if report.load_traceback:
            parts.append(escape(report.load_traceback.rstrip()))
        return Group(*parts)
    parts.extend(_to_fix(report))
    targets: list[str] = []
    for c in report.checks:
        if c.target not in targets:
            targets.append(c.target)
    for target in targets:
        checks = [c for c in report.checks if c.target == target]
        parts.append(_table(target, checks, verbose))
    unreached = [f"{m}: {why}" for m, why in report.not_checked.items() if "rule" not in why]
    if report.gaps or unreached or not report.gradients_checked:
        gaps = list(report.gaps) + unreached
        if not report.gradients_checked:
            gaps.insert(0, "no gradient was checked")
        parts.append("[bold]not checked[/bold]")
        parts.append(_bullets(gaps))
    if report.notes:
        parts.append("[bold]notes[/bold]")
        parts.append(_bullets(report.notes))
    parts.append(_tally(report))
    return Group(*parts)


_SOURCE = {
    "notebook": " [dim](a notebook, cell by cell)[/dim]",
    "export": " [dim](an exported notebook)[/dim]",
}

_LECTURE_NAMES = {
    "data": "data",
    "grad": "grad",
    "children": "_prev",
    "op": "_op",
    "step": "_backward",
    "backward": "backward",
}


def _names(adapter: dict[str, str]) -> str:
    """The learner's names where they differ from the lecture's: ``Node: .value, backprop()``."""
    if not adapter:
        return ""
    parts = []
    for role, lecture in _LECTURE_NAMES.items():
        mine = adapter.get(role)
        if mine and mine != lecture:
            shown = f"{mine}()" if role == "backward" else f".{mine}"
            parts.append(f"{role} {shown}")
    construct = adapter.get("construct", "")
    if construct and not construct.endswith("(x)"):
        parts.append(f"made as {construct}")
    if not parts and adapter.get("class") in (None, "Value"):
        return ""
    return f"{adapter.get('class', '')}: " + (", ".join(parts) or "the lecture's names")


def _to_fix(report: FileReport) -> list[Any]:
    """What to fix: the report's root causes (the same pass the JSON reads), each with its
    first hint, its traceback (the learner's frames only) and what fails only because of it."""
    from rich.table import Table

    causes = report.causes()
    if not causes:
        return []
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for cause in causes:
        c = cause.check
        lines = [escape(c.hint or f"{c.name}: {c.message}")]
        if c.traceback:
            lines.append("[dim]" + escape(c.traceback.rstrip()) + "[/dim]")
        if cause.followers:
            text = ", ".join(f"{k} ({n})" for k, n in cause.followers.items())
            lines.append(f"[dim]also failing only because of it: {escape(text)}[/dim]")
        grid.add_row(f"  [bold red]{escape(cause.blame)}[/bold red]", "\n".join(lines))
    return [f"[bold]to fix ({len(causes)})[/bold]", grid]


def _bullets(lines: list[str]) -> Any:
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for line in lines:
        grid.add_row("  [yellow]•[/yellow]", escape(line))
    return grid


def _table(target: str, checks: list[Check], verbose: bool) -> Any:
    t = table("<check", "expected", "got", "<verdict", title=target)
    order = {"fail": 0, "not_run": 1, "todo": 2, "skipped": 3, "pass": 4}
    if verbose or len(checks) <= 12:
        for c in sorted(checks, key=lambda c: (order[c.status], c.consequence_of is not None)):
            verdict = _VERDICT[c.status]
            if c.consequence_of and c.status == "fail":
                verdict += f" [dim](because of {escape(c.consequence_of)})[/dim]"
            t.add_row(escape(c.name), _cell(c.expected), _cell(c.got), verdict)
        return t
    # many checks (a Value class): the failures one by one, the rest counted per operation
    for c in checks:
        if c.status == "fail" and c.consequence_of is None:
            t.add_row(escape(c.name), _cell(c.expected), _cell(c.got), _VERDICT["fail"])
    groups: dict[tuple[int, int, str, str], int] = {}
    first: dict[str, int] = {}
    for c in checks:
        first.setdefault(_group_key(c), len(first))
    for c in checks:
        if c.status == "fail" and c.consequence_of is None:
            continue
        why = c.consequence_of or ""
        key = (order[c.status], first[_group_key(c)], _group_key(c), why)
        groups[key] = groups.get(key, 0) + 1
    for (rank, _, op, why), n in sorted(groups.items()):
        status = next(k for k, v in order.items() if v == rank)
        verdict = _VERDICT[status]
        if why:
            verdict += f" [dim](because of {escape(why)})[/dim]"
        t.add_row(f"{escape(op)}: {n} check{'s' if n != 1 else ''}", "", "", verdict)
    return t


def _tally(report: FileReport) -> str:
    todo = report.todo_count
    extra = f", {todo} to do (not written or not supported yet)" if todo else ""
    return f"[bold]{report.passed} passed, {report.failed} failed{extra}[/bold]"


def render_folder(report: FolderReport, verbose: bool = False) -> Any:
    """The progress table, then what to fix in each file that is wrong."""
    parts: list[Any] = [header([("folder", escape(report.directory))])]
    t = table("<exercise", "<file", "<status", "passed", "<next", title="progress")
    for row in report.rows:
        rep = row.report
        t.add_row(
            escape(f"{row.number} {row.exercise}"),
            escape(row.file),
            _STATUS[row.status],
            f"{rep.passed}/{rep.passed + rep.failed}" if rep else "—",
            escape(row.next_hint()),
        )
    parts.append(t)
    if verbose:
        for rep in report.reports:
            parts.append(render_file(rep, verbose))
    done = sum(r.status == "done" for r in report.rows)
    parts.append(
        f"[bold]{done} of {len(report.rows)} done[/bold]"
        + (f", {report.todo} to do" if report.todo else "")
        + (" (gradcli check FILE shows a file's details)" if done < len(report.rows) else "")
    )
    if not any("PyTorch" in r.reference for r in report.reports):
        parts.append(
            "[dim]Exercise 6, the PyTorch check, is part of value.py and softmax.py when torch "
            "is installed.[/dim]"
        )
    return Group(*parts)


def render_exercises(rows: list[tuple[str, str, str, str]]) -> Any:
    t = table("#", "<file", "<you write", "<it teaches", title="exercises")
    for number, teaches, fname, functions in rows:
        t.add_row(number, escape(fname), escape(functions), escape(teaches))
    return Group(
        t,
        "Start them:  gradcli exercises new DIR     Check them:  gradcli check DIR",
    )
