"""``gradcli hessian``: the matrix of second derivatives, three ways, and what it says."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from gradcli.commands.common import (
    AT_OPT,
    EXPR_ARG,
    JSON_OPT,
    emit_json,
    load_problem,
    make_console,
)
from gradcli.examples import EXAMPLE_NOTE
from gradcli.render.console import write_err

#: variables x nodes above which the cost is said up front (about a second's work)
LARGE_WORK = 200_000
#: seconds of silence before a progress bar appears (on a terminal only)
PROGRESS_AFTER = 1.0

EPILOG = (
    "Examples:\n\n"
    "  gradcli hessian                            the built-in example (micrograd's exercise)\n\n"
    '  gradcli hessian "x**2 - y**2" --at x=0,y=0     a saddle point\n\n'
    '  gradcli hessian "(1-x)**2 + 100*(y-x**2)**2" --at x=1,y=1   Rosenbrock: a minimum\n\n'
    '  gradcli hessian "x*exp(-x**2-y**2)" --at x=0.5,y=0 --json\n\n'
    "Definiteness: an eigenvalue within 64*n*eps of the largest |eigenvalue| counts as 0. "
    "Stationary: every |df/dx| <= 1e-8*max(1, |f|)."
)


def hessian_command(
    expr: str | None = EXPR_ARG,
    at: list[str] | None = AT_OPT,
    as_json: bool = JSON_OPT,
    symbolic: bool | None = typer.Option(
        None,
        "--symbolic/--no-symbolic",
        help="Force or skip sympy's exact Hessian (default: on up to 12 variables and "
        "2,000 nodes).",
        show_default=False,
    ),
) -> None:
    """The Hessian (second derivatives) by reverse over reverse, beside sympy and finite
    differences, with its eigenvalues and what they say about the point.

    One backward pass builds the gradient as Values; one backward pass over each of its
    entries gives a row of the Hessian. Beside it: sympy's exact Hessian (each entry as text and
    at 50 digits) and central differences of the reverse-mode gradient, each with its error.
    The eigenvalues tell a minimum (positive definite), a maximum (negative definite) and a
    saddle (indefinite) apart, when the gradient is 0.
    """
    from gradcli.hessian import hessian_report

    problem = load_problem(expr, at)
    n, size = len(problem.expression.variables), problem.expression.size
    if n * size >= LARGE_WORK:
        # say what it will cost before a long silence (15,000 terms, 100 variables: minutes)
        write_err(
            f"gradcli: the Hessian of {n} variables over {size:,} nodes takes {n} backward passes "
            f"over the gradient graph and {2 * n} gradient evaluations for finite differences; "
            "this may take a while\n"
        )
    with _late_progress() as progress:
        report = hessian_report(
            problem.expression, problem.point, symbolic=symbolic, progress=progress
        )
    if as_json:
        emit_json(report.to_json())
        return
    from gradcli.render.hessian import render_hessian

    make_console().print(render_hessian(report, EXAMPLE_NOTE if problem.builtin else None))


@contextmanager
def _late_progress() -> Iterator[Any]:
    """A progress callback that shows a bar on stderr once the work has run for
    PROGRESS_AFTER seconds, and only on a terminal: short runs and pipes stay quiet."""
    if not sys.stderr.isatty():
        yield None
        return
    start = time.monotonic()
    state: dict[str, Any] = {}

    def update(what: str, done: int, total: int) -> None:
        if "bar" not in state:
            if time.monotonic() - start < PROGRESS_AFTER:
                return
            state["bar"] = _bar()
            state["bar"].start()
        bar = state["bar"]
        if state.get("what") != what:
            state["what"], state["task"] = what, bar.add_task(what, total=total)
        bar.update(state["task"], completed=done)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


def _bar() -> Any:
    from rich.progress import Progress

    return Progress(console=make_console(stderr=True), transient=True)
