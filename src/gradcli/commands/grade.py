"""``gradcli grade``: a whole class checked at once, a gradebook and a feedback file each."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer

from gradcli.errors import ExitStatus, GradcliError
from gradcli.render.console import write_err

EPILOG = (
    "Examples:\n\n"
    "  gradcli grade submissions/*              the gradebook table and the class summary\n\n"
    "  gradcli grade submissions/ --out marks --format csv\n\n"
    "  gradcli grade hw/*.ipynb --format json > grades.jsonl\n\n"
    "  gradcli grade /autograder/submission --format gradescope --out /autograder/results\n\n"
    "  gradcli grade submissions/* --rubric rubric.toml --jobs 4 --timeout 5\n\n"
    "A submission is a file (.py, .ipynb, an exported .txt) or a folder (an exercises folder, or a "
    "student's folder holding one of those); a folder of several is a class. Each one runs in "
    "its own child processes, in a scratch folder, with resource limits, and in bubblewrap's "
    "sandbox when bwrap is installed (no network, read-only files, its own PID namespace). "
    "Exit code 0 when the batch ran, whatever the grades (1 below --fail-under), 2 for bad "
    "usage."
)

FORMATS = ("table", "csv", "json", "gradescope")


def grade_command(
    submissions: list[str] | None = typer.Argument(
        None,
        help="Files or folders, one per student (or a folder of them).",
        metavar="SUBMISSION...",
    ),
    jobs: str | None = typer.Option(
        None,
        "--jobs",
        "-j",
        help="Submissions checked at once (default: the machine's cores).",
        metavar="N",
    ),
    timeout: str = typer.Option(
        "10", "--timeout", help="Seconds each check may run before it is stopped.", metavar="S"
    ),
    out: str | None = typer.Option(
        None,
        "--out",
        help="Write the gradebook, the summary and a feedback file per student here.",
        metavar="DIR",
    ),
    fmt: str = typer.Option(
        "table",
        "--format",
        help="table, csv, json (JSON Lines) or gradescope (results.json).",
        metavar="FORMAT",
    ),
    rubric: str | None = typer.Option(
        None,
        "--rubric",
        help="A TOML file weighting ops, functions and exercises.",
        metavar="FILE.toml",
    ),
    fail_under: str | None = typer.Option(
        None,
        "--fail-under",
        help="Exit 1 when a score is below this fraction (0-1).",
        metavar="X",
    ),
    sandbox: bool | None = typer.Option(
        None,
        "--sandbox/--no-sandbox",
        help="Run each submission in bubblewrap (default: on when bwrap is installed).",
        show_default=False,
    ),
    no_torch: bool = typer.Option(
        False, "--no-torch", help="Do not compare with PyTorch even when it is installed."
    ),
    class_name: str | None = typer.Option(
        None, "--class", help="The class to check, when it is not named Value.", metavar="NAME"
    ),
) -> ExitStatus:
    """Grade a whole class: every submission checked as 'gradcli check' does, in parallel.

    One row per student (done, wrong, todo, or error: did not load or did not finish), a score
    from 0 to 1 (each check once, or weighted by --rubric), the first thing to fix, and a column
    per exercise or op; the class summary says which rules fail most often and which submissions
    did not finish. A submission that hangs, crashes, floods output or exits is its own row; the
    batch always completes.
    """
    from gradcli.learner import grade as g
    from gradcli.learner import sandbox as containment

    if fmt not in FORMATS:
        raise GradcliError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    seconds = _number("--timeout", timeout, 0, 3600, "--timeout 5")
    n_jobs = None if jobs is None else int(_number("--jobs", jobs, 1, 512, "--jobs 4", True))
    under = None if fail_under is None else _number("--fail-under", fail_under, 0, 1, "0.5")
    weights = g.load_rubric(Path(rubric)) if rubric is not None else None
    subs = g.discover(submissions or [])
    if fmt == "gradescope" and len(subs) > 1 and out is None:
        raise GradcliError(
            "--format gradescope with several submissions writes OUT/<student>/results.json",
            hint="give --out DIR",
        )
    out_dir = _out_dir(out) if out is not None else None
    policy = containment.resolve(sandbox, True, write_err)
    book = _run(g, subs, n_jobs, seconds, not no_torch, policy, weights, class_name)
    if out_dir is not None:
        _write(book, out_dir, fmt)
        _print_table(book)
    else:
        _emit(book, fmt)
    if under is not None and any(r.score < under for r in book.rows):
        return ExitStatus.MISMATCH
    return ExitStatus.OK


def _number(
    option: str, text: str, lo: float, hi: float, example: str, integer: bool = False
) -> float:
    """``text`` as a number in [lo, hi] (above 0 when lo is 0 and it is a time)."""
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and lo <= value <= hi) or (option == "--timeout" and value <= 0):
        kind = "a whole number" if integer else "a number"
        raise GradcliError(
            f"{option} {text}: give {kind} from {lo:g} to {hi:g}"
            + (" (above 0)" if option == "--timeout" else ""),
            hint=f"e.g. {example}",
        )
    return value


def _out_dir(out: str) -> Path:
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise GradcliError(f"--out {out} is a file, not a folder", hint="give a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GradcliError(f"--out {out}: cannot make the folder ({exc.strerror})") from None
    return p


def _run(
    g: Any,
    subs: list[Any],
    jobs: int | None,
    timeout: float,
    use_torch: bool,
    policy: Any,
    rubric: Any,
    class_name: str | None,
) -> Any:
    from gradcli.commands.common import make_console

    console = make_console(stderr=True)
    if not console.is_terminal:
        return g.grade(subs, jobs, timeout, use_torch, policy, rubric, class_name)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(subs))

        def done(row: Any) -> None:
            progress.update(task, advance=1, description=row.student)

        return g.grade(subs, jobs, timeout, use_torch, policy, rubric, class_name, done)


def _print_table(book: Any) -> None:
    from gradcli.commands.common import make_console
    from gradcli.render.grade import render_gradebook

    make_console().print(render_gradebook(book))


def _emit(book: Any, fmt: str) -> None:
    from gradcli.render import grade as rg

    if fmt == "table":
        _print_table(book)
    elif fmt == "csv":
        sys.stdout.write(rg.gradebook_csv(book))
    elif fmt == "json":
        sys.stdout.write(rg.gradebook_jsonl(book))
    else:
        sys.stdout.write(json.dumps(rg.gradescope(book.rows[0], book), allow_nan=False) + "\n")
    if fmt != "table":
        write_err(rg.plain(rg.render_summary(book)))


def _write(book: Any, out: Path, fmt: str) -> None:
    """OUT/<student>.txt for each, the gradebook in the chosen format, OUT/_summary.txt and
    OUT/_summary.json (a student's name never starts with _)."""
    from gradcli.render import grade as rg

    try:
        for row in book.rows:
            (out / f"{row.student}.txt").write_text(rg.feedback_text(row), encoding="utf-8")
        (out / "_summary.txt").write_text(rg.plain(rg.render_summary(book)), encoding="utf-8")
        (out / "_summary.json").write_text(
            json.dumps(book.summary_json(), indent=2) + "\n", encoding="utf-8"
        )
        if fmt in ("table", "csv"):
            (out / "gradebook.csv").write_text(rg.gradebook_csv(book), encoding="utf-8")
        elif fmt == "json":
            (out / "gradebook.jsonl").write_text(rg.gradebook_jsonl(book), encoding="utf-8")
        elif len(book.rows) == 1:
            _dump(out / "results.json", rg.gradescope(book.rows[0], book))
        else:
            for row in book.rows:
                (out / row.student).mkdir(exist_ok=True)
                _dump(out / row.student / "results.json", rg.gradescope(row, book))
    except OSError as exc:
        raise GradcliError(f"--out {out}: cannot write ({exc.strerror}: {exc.filename})") from None


def _dump(path: Path, obj: dict[str, Any]) -> None:
    path.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")
