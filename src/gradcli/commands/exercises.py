"""``gradcli exercises``: the backpropagation exercises, and a starter folder for them."""

from __future__ import annotations

from pathlib import Path

import typer

from gradcli.commands.common import JSON_OPT, emit_json, make_console
from gradcli.errors import GradcliError

EPILOG = (
    "Examples:\n\n"
    "  gradcli exercises                    the exercises, in order, and what each teaches\n\n"
    "  gradcli exercises new backprop/      write the starter files into backprop/\n\n"
    "  gradcli check backprop/              your progress, one row per file\n\n"
    "  gradcli exercises new backprop/ --missing add only the files backprop/ lacks\n\n"
    "  gradcli exercises new backprop/ --force   overwrite the starters (your code is lost)"
)


def exercises_command(
    action: str | None = typer.Argument(
        None, help="'new' to write the starter files.", metavar="new", show_default=False
    ),
    directory: str | None = typer.Argument(
        None,
        help="The folder to write them into (made if missing).",
        metavar="DIR",
        show_default=False,
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing starter files."),
    missing: bool = typer.Option(
        False,
        "--missing",
        help="Write only the starter files the folder lacks; leave the others as they are.",
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """The exercises of the micrograd lecture, as files you write and gradcli checks.

    Without arguments: the list, in order. 'gradcli exercises new DIR' writes gradient.py,
    derivatives.py, value.py and softmax.py (each states its task and the math; the bodies raise
    NotImplementedError where your code goes) and a README; it refuses to overwrite existing
    files unless --force, and --missing adds only the files the folder lacks. Then
    'gradcli check DIR' shows your progress.
    """
    from gradcli.learner.exercises import EXERCISES, write_starters

    if action is None:
        if directory is not None:
            raise GradcliError(f"unexpected argument {directory!r}", hint="see --help")
        if as_json:
            emit_json(
                {
                    "exercises": [
                        {"number": n, "teaches": t, "file": f, "functions": fn}
                        for n, t, f, fn in EXERCISES
                    ]
                }
            )
        else:
            from gradcli.render.check import render_exercises

            make_console().print(render_exercises(EXERCISES))
        return
    if action != "new":
        raise GradcliError(
            f"unknown action {action!r}",
            hint="'gradcli exercises' lists them, 'gradcli exercises new DIR' starts them",
        )
    if not directory:
        raise GradcliError(
            "exercises new needs a folder", hint="e.g. gradcli exercises new backprop"
        )
    if force and missing:
        raise GradcliError(
            "--force and --missing do not go together",
            hint="--missing keeps your files, --force overwrites them: drop one",
        )
    written, kept = write_starters(Path(directory), force=force, missing_only=missing)
    if as_json:
        emit_json(
            {
                "directory": directory,
                "written": [p.name for p in written],
                "kept": [p.name for p in kept],
            }
        )
        return
    lines = []
    if written:
        lines.append(f"wrote {', '.join(p.name for p in written)} into {directory}")
    if kept:
        lines.append(f"kept {', '.join(p.name for p in kept)} as they were")
    if not written:
        lines.append(f"{directory} already has every starter file; nothing was written")
    lines.append(
        f"next: open {Path(directory) / 'gradient.py'}, then run: gradcli check {directory}"
    )
    make_console().print("\n".join(lines), markup=False, highlight=False)
