"""``%load_ext gradcli``: the ``%gradcli`` line magic.

``%gradcli check Value`` checks a class (or function) of the notebook, as ``gradcli.check``
does; ``%gradcli check value.py`` a file; any other command runs as on the command line, its
output in the cell: ``%gradcli grad "x**2*sin(y)" --at x=1,y=2``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import sys
from typing import Any

USAGE = (
    'usage: %gradcli COMMAND ARGS..., e.g. %gradcli check Value or %gradcli grad "x**2" --at x=3'
)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%gradcli`` (IPython calls this for ``%load_ext gradcli``)."""

    def gradcli_magic(line: str) -> Any:
        return run_magic(line, ipython.user_ns)

    ipython.register_magic_function(gradcli_magic, "line", "gradcli")


def run_magic(line: str, namespace: dict[str, Any]) -> Any:
    """One ``%gradcli`` line: a check result to display, or None (the output was printed)."""
    try:
        args = shlex.split(line)
    except ValueError as exc:
        print(f"gradcli: error: {exc} ({USAGE})", file=sys.stderr)
        return None
    if not args:
        print(USAGE, file=sys.stderr)
        return None
    if args[0] == "check" and len(args) >= 2 and _live(args[1], namespace):
        return _check_live(args[1:], namespace)
    return _run_cli(args)


def _live(word: str, namespace: dict[str, Any]) -> bool:
    """A name of the notebook (not a file of that name)."""
    return word.isidentifier() and word in namespace and not os.path.exists(word)


def _check_live(args: list[str], namespace: dict[str, Any]) -> Any:
    from gradcli.learner.api import check

    objects: list[Any] = []
    options: dict[str, Any] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--timeout" and i + 1 < len(args):
            try:
                options["timeout"] = float(args[i + 1])
            except ValueError:
                print(f"gradcli: error: --timeout {args[i + 1]}: not a number", file=sys.stderr)
                return None
            i += 2
            continue
        if a in ("--no-torch", "--torch", "--sandbox", "--no-sandbox"):
            key = "torch" if "torch" in a else "sandbox"
            options[key] = not a.startswith("--no-")
        elif a.isidentifier() and a in namespace:
            objects.append(namespace[a])
        else:
            print(
                f"gradcli: error: {a!r} is not a name in this notebook ({USAGE})", file=sys.stderr
            )
            return None
        i += 1
    try:
        return check(*objects, **options)
    except (TypeError, ValueError, ImportError) as exc:
        print(f"gradcli: error: {exc}", file=sys.stderr)
        return None


def _run_cli(args: list[str]) -> None:
    """The command as on the command line; its output (with colour, unless NO_COLOR) printed."""
    from gradcli.cli import main

    out, err = io.StringIO(), io.StringIO()
    env = {"COLUMNS": os.environ.get("COLUMNS", "100")}
    if not os.environ.get("NO_COLOR"):
        env["FORCE_COLOR"] = "1"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(args)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    sys.stdout.write(out.getvalue())
    if err.getvalue():
        sys.stderr.write(err.getvalue())
