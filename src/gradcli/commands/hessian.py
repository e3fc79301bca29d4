"""``gradcli hessian``: the matrix of second derivatives, three ways, and what it says."""

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
    report = hessian_report(problem.expression, problem.point, symbolic=symbolic)
    if as_json:
        emit_json(report.to_json())
        return
    from gradcli.render.hessian import render_hessian

    make_console().print(render_hessian(report, EXAMPLE_NOTE if problem.builtin else None))
