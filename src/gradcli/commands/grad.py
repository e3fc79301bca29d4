"""``gradcli grad``."""

from __future__ import annotations

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
from gradcli.gradient import grad_report

EPILOG = (
    "Examples:\n\n"
    "  gradcli grad                               the built-in example (micrograd's exercise)\n\n"
    '  gradcli grad "x**2 * sin(y)" --at x=1.5 --at y=0.3\n\n'
    '  gradcli grad "-a**3 + b" --at a=2,b=-1 --json\n\n'
    "  cat big.txt | gradcli grad - --at x=0.5       (read a long expression from stdin)"
)


def grad_command(
    expr: str | None = EXPR_ARG,
    at: list[str] | None = AT_OPT,
    as_json: bool = JSON_OPT,
    symbolic: bool | None = typer.Option(
        None,
        "--symbolic/--no-symbolic",
        help="Force or skip sympy's derivatives (default: on, skipped for very large expressions).",
        show_default=False,
    ),
    simplify: bool = typer.Option(
        False, "--simplify", help="Run sympy's simplify on each derivative."
    ),
) -> None:
    """Value and gradient by reverse-mode autodiff, beside sympy's symbolic derivative.

    Builds the expression's computation graph (Value nodes), runs the forward pass and the
    backward pass, and shows each partial derivative next to sympy's exact derivative and its
    value at the point.
    """
    problem = load_problem(expr, at)
    report = grad_report(problem.expression, problem.point, symbolic=symbolic, simplify=simplify)
    if as_json:
        emit_json(report.to_json())
        return
    from gradcli.render.grad import render_grad

    make_console().print(render_grad(report, EXAMPLE_NOTE if problem.builtin else None))
