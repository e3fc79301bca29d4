"""``gradcli grad``: value and gradient (several outputs: the Jacobian), beside sympy."""

from __future__ import annotations

from enum import Enum

import typer

from gradcli.commands.common import (
    AT_OPT,
    EXPR_ARG,
    JSON_OPT,
    emit_json,
    load_problems,
    make_console,
)
from gradcli.examples import EXAMPLE_NOTE
from gradcli.gradient import grad_report, jacobian_report

EPILOG = (
    "Examples:\n\n"
    "  gradcli grad                               the built-in example (micrograd's exercise)\n\n"
    '  gradcli grad "x**2 * sin(y)" --at x=1.5 --at y=0.3\n\n'
    '  gradcli grad "-a**3 + b" --at a=2,b=-1 --json\n\n'
    '  gradcli grad "x*y; x + y**2" --at x=1,y=2     two outputs: the Jacobian\n\n'
    '  gradcli grad "x*y; x + y**2" --at x=1,y=2 --mode forward\n\n'
    "  cat big.txt | gradcli grad - --at x=0.5       (read a long expression from stdin)"
)


class Mode(str, Enum):
    reverse = "reverse"
    forward = "forward"


def grad_command(
    expr: str | None = EXPR_ARG,
    at: list[str] | None = AT_OPT,
    as_json: bool = JSON_OPT,
    mode: Mode = typer.Option(
        Mode.reverse,
        "--mode",
        help="reverse: one backward pass per output; forward: one pass per input. Same numbers.",
    ),
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
    """Value and gradient by autodiff through the Value graph, beside sympy's symbolic derivative.

    Builds the expression's computation graph (Value nodes), runs the forward pass and the
    backward pass, and shows each partial derivative next to sympy's exact derivative and its
    value at the point. Several expressions separated by ';' give the Jacobian: one row per
    output, one column per variable.
    """
    problems = load_problems(expr, at)
    if len(problems) > 1:
        jac = jacobian_report(
            [p.expression for p in problems], problems[0].point, mode=mode.value, symbolic=symbolic
        )
        if as_json:
            emit_json(jac.to_json())
            return
        from gradcli.render.grad import render_jacobian

        make_console().print(render_jacobian(jac))
        return
    problem = problems[0]
    report = grad_report(
        problem.expression, problem.point, symbolic=symbolic, simplify=simplify, mode=mode.value
    )
    if as_json:
        emit_json(report.to_json())
        return
    from gradcli.render.grad import render_grad

    make_console().print(render_grad(report, EXAMPLE_NOTE if problem.builtin else None))
