"""The exercises: what each teaches, and the starter folder ``gradcli exercises new`` writes."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from gradcli.errors import GradcliError

#: (number, what it teaches, file, functions the learner writes)
EXERCISES = [
    ("1", "the gradient by hand: df/da, df/db, df/dc of the exercise's f", "gradient.py", "gradf"),
    (
        "2",
        "the forward difference: a numerical derivative, error of order h",
        "derivatives.py",
        "forward_difference",
    ),
    (
        "3",
        "the symmetric difference: error of order h**2",
        "derivatives.py",
        "symmetric_difference",
    ),
    ("4", "a Value class with backward(): the chain rule, node by node", "value.py", "Value"),
    ("5", "softmax and the negative log-likelihood, on your Values", "softmax.py", "softmax, nll"),
    (
        "6",
        "verify against PyTorch (gradcli check does it for 4 and 5 when torch is installed)",
        "value.py, softmax.py",
        "-",
    ),
]

#: the rows of ``gradcli check DIR``: (exercises, title, file)
EXERCISE_FILES = [
    ("1", "gradient by hand", "gradient.py"),
    ("2, 3", "finite differences", "derivatives.py"),
    ("4, 6", "Value and backward", "value.py"),
    ("5, 6", "softmax and NLL", "softmax.py"),
]

STARTER_FILES = ("gradient.py", "derivatives.py", "value.py", "softmax.py", "README.md")


def template(name: str) -> str:
    """The text of one starter file."""
    return (resources.files("gradcli.learner") / "templates" / name).read_text(encoding="utf-8")


def write_starters(
    directory: Path, force: bool = False, missing_only: bool = False
) -> tuple[list[Path], list[Path]]:
    """Write the starter files into ``directory`` (made if missing); refuse to overwrite any
    existing one unless ``force``, or with ``missing_only`` write only the ones it lacks.
    Returns (the paths written, the existing paths left as they were)."""
    if directory.exists() and not directory.is_dir():
        raise GradcliError(f"{directory} exists and is not a folder", hint="give a folder's path")
    targets = [directory / name for name in STARTER_FILES]
    existing = [p for p in targets if p.exists()]
    if existing and not force and not missing_only:
        names = ", ".join(p.name for p in existing)
        raise GradcliError(
            f"{directory} already has {names}; nothing was written",
            hint="add --missing to write only the others, or --force to overwrite them",
        )
    kept = existing if missing_only else []
    todo = [p for p in targets if p not in kept]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for p in todo:
            p.write_text(template(p.name), encoding="utf-8")
    except OSError as exc:
        raise GradcliError(
            f"cannot write the exercises into {directory}: {exc.strerror or exc}",
            hint="check the path and its permissions",
        ) from None
    return todo, kept
