"""``gradcli compare``."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
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
from gradcli.errors import ExitStatus, GradcliError, MissingDependencyError, PointError
from gradcli.examples import EXAMPLE_NOTE

EPILOG = (
    "Examples:\n\n"
    "  gradcli compare                            the built-in example (micrograd's exercise)\n\n"
    '  gradcli compare "x**2 * sin(y)" --at x=1.5,y=0.3 --h 1e-6\n\n'
    '  gradcli compare "log(x)" --at x=1e-3 --method forward,central\n\n'
    "  gradcli compare --sweep                    error against h: the V of truncation against "
    "round-off\n\n"
    "  gradcli compare --sweep --plot sweep.png   the same plot as an image (needs "
    "gradcli[plot])\n\n"
    '  gradcli compare "tanh(x)" --at x=0.3 --method central --fail-above 1e-8   exit 1 above '
    "it (CI)\n\n"
    "Methods: forward, backward, central (symmetric), five_point, richardson, complex_step, "
    "adaptive (Ridders' extrapolation, with its own error estimate)."
)

#: most steps --steps accepts: each step runs every method once per variable
MAX_STEPS = 200

#: the sweep's range when --h-max / --h-min are not given
H_MAX = 1e-1
H_MIN = 1e-16

#: element operations (tree nodes x evaluations) above which a progress bar is worth showing
PROGRESS_WORK = 20_000_000


@contextmanager
def _progress(total: int, work: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr, only for long work on a terminal."""
    if work < PROGRESS_WORK or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=make_console(stderr=True), transient=True) as bar:
        task = bar.add_task("function evaluations", total=total)
        yield lambda n: bar.advance(task, n)


def _check_writable(path: Path) -> None:
    """Fail early, in one line, when ``path`` cannot be written (before the sweep runs)."""
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    if not existed:
        path.unlink(missing_ok=True)


def _cannot_write(path: Path, exc: OSError) -> GradcliError:
    return GradcliError(f"cannot write {path}: {exc.strerror or exc}", hint="check the path")


def _plottable(report: object, name: str) -> bool:
    sweep = getattr(report, "sweep", None) or {}
    return any(p.abs_error.get(name) is not None for points in sweep.values() for p in points)


def _check_step(value: float, option: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(
            f"the step must be a positive number, got {value}", param_hint=option
        )


def compare_command(
    expr: str | None = EXPR_ARG,
    at: list[str] | None = AT_OPT,
    h: float | None = typer.Option(
        None,
        "--h",
        help="Step for every fixed-step method (default: each method's textbook step times |x|).",
        show_default=False,
    ),
    method: list[str] | None = typer.Option(
        None,
        "--method",
        "-m",
        help="Methods to run, repeatable or comma-separated (default: all that apply).",
        metavar="NAME",
    ),
    sweep: bool = typer.Option(False, "--sweep", help="Run every method over a range of steps."),
    h_max: float | None = typer.Option(
        None,
        "--h-max",
        help=f"Largest step of the sweep (default: {H_MAX:g}). Implies --sweep.",
        show_default=False,
    ),
    h_min: float | None = typer.Option(
        None,
        "--h-min",
        help=f"Smallest step of the sweep (default: {H_MIN:g}). Implies --sweep.",
        show_default=False,
    ),
    steps: int | None = typer.Option(
        None,
        "--steps",
        help=f"Steps in the sweep, 2 to {MAX_STEPS} (default: one per decade). Implies --sweep.",
        show_default=False,
    ),
    var: str | None = typer.Option(
        None,
        "--var",
        help="Variable the sweep shows (default: the first). Implies --sweep.",
        show_default=False,
    ),
    plot: Path | None = typer.Option(
        None,
        "--plot",
        help="Write the sweep plot to FILE (.png or .svg; needs gradcli[plot]). Implies --sweep.",
        metavar="FILE",
        show_default=False,
    ),
    fail_above: float | None = typer.Option(
        None,
        "--fail-above",
        help="Exit 1 when a chosen method's worst error (relative; absolute where the exact "
        "value is 0) is above TOL: a gate for CI.",
        metavar="TOL",
        show_default=False,
    ),
    no_reference: bool = typer.Option(
        False,
        "--no-reference",
        help="With --fail-above: judge each method by its own error estimate, as you would "
        "without an exact derivative (five_point, richardson, adaptive have one).",
    ),
    as_json: bool = JSON_OPT,
) -> ExitStatus:
    """Finite-difference, symmetric, 5-point, Richardson and complex-step estimates beside the
    analytic gradient.

    Each estimate is shown with its error against an exact reference (sympy's derivative at 50
    digits), its correct digits, the step h it used and its cost in function evaluations, next
    to the reverse-mode gradient of the Value graph. --sweep shows how the error of each method
    moves with h.
    """
    from gradcli import numeric

    try:
        methods = numeric.resolve_methods(method)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--method") from None
    if h is not None:
        _check_step(h, "--h")
    if plot is not None:
        if plot.suffix.lower() not in (".png", ".svg"):
            raise typer.BadParameter(f"{plot} must end in .png or .svg", param_hint="--plot")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise MissingDependencyError(
                "--plot needs matplotlib, which is not installed",
                hint="pip install 'gradcli[plot]' (in a checkout of gradcli: "
                "pip install -e '.[plot]')",
            ) from None
        sweep = True
    # the sweep's own options mean nothing without it: giving one asks for the sweep
    sweep = sweep or any(o is not None for o in (h_max, h_min, steps, var))
    hs: list[float] | None = None
    if sweep:
        h_max = H_MAX if h_max is None else h_max
        h_min = H_MIN if h_min is None else h_min
        _check_step(h_max, "--h-max")
        _check_step(h_min, "--h-min")
        if h_min >= h_max:
            raise typer.BadParameter(
                f"--h-min ({h_min:g}) must be smaller than --h-max ({h_max:g})",
                param_hint="--h-min",
            )
        if steps is not None and not 2 <= steps <= MAX_STEPS:
            raise typer.BadParameter(
                f"the sweep takes 2 to {MAX_STEPS} steps, got {steps}", param_hint="--steps"
            )
        hs = numeric.sweep_steps(h_max, h_min, steps)

    if fail_above is not None and not (math.isfinite(fail_above) and fail_above > 0):
        raise typer.BadParameter(
            f"the tolerance must be a positive number, got {fail_above:g}",
            param_hint="--fail-above",
        )
    if no_reference:
        if fail_above is None:
            raise typer.BadParameter(
                "--no-reference only changes what --fail-above judges by; give --fail-above TOL",
                param_hint="--no-reference",
            )
        blind = [m for m in methods if not _has_own_estimate(m)]
        if blind:
            raise typer.BadParameter(
                f"{', '.join(blind)} {'has' if len(blind) == 1 else 'have'} no error estimate of "
                "its own; choose --method five_point, richardson or adaptive",
                param_hint="--no-reference",
            )

    problem = load_problem(expr, at)
    names = problem.expression.variables
    if var is not None and var not in names:
        raise PointError(
            f"--var {var}: the expression has no variable '{var}'",
            hint=f"choose one of: {', '.join(names) or 'none'}",
        )
    if plot is not None:
        if not names:
            raise PointError(
                "--plot: the expression has no variable, so there is no derivative to plot",
                hint="give an expression with a variable, e.g. 'sin(x)' --at x=1",
            )
        _check_writable(plot)
    total = numeric.planned_evaluations(len(names), methods, len(hs or []))

    with _progress(total, total * problem.expression.size) as progress:
        report = numeric.compare(
            problem.expression, problem.point, h=h, methods=methods, sweep=hs, progress=progress
        )
    shown = var or (names[0] if names else None)
    if plot is not None and shown is not None and not _plottable(report, shown):
        raise GradcliError(
            f"--plot: nothing to plot for ∂f/∂{shown}: no fixed-step method gave an estimate "
            "at any step of the sweep",
            hint="choose methods that apply here (--method central,five_point) or widen the "
            "sweep (--h-max, --h-min)",
        )
    if plot is not None and shown is not None:
        from gradcli.render.compare import save_plot

        try:
            save_plot(report, shown, plot)
        except OSError as exc:
            raise _cannot_write(plot, exc) from None
        sys.stderr.write(f"gradcli: wrote {plot} (the sweep for ∂f/∂{shown})\n")
    gate = _gate(report, fail_above, no_reference) if fail_above is not None else None
    status = ExitStatus.MISMATCH if gate and gate["failed"] else ExitStatus.OK
    if as_json:
        data = report.to_json()
        if plot is not None:
            data["plot"] = str(plot)
        if gate is not None:
            data["fail_above"] = gate
        emit_json(data)
        return status
    from gradcli.render.compare import render_compare, render_sweep

    console = make_console()
    console.print(render_compare(report, EXAMPLE_NOTE if problem.builtin else None))
    if report.sweep and shown is not None:
        # the plot's frame takes 8 columns and its markers may sit one past the last
        console.print(render_sweep(report, shown, width=max(20, min(64, console.width - 10))))
    if gate is not None:
        console.print(_gate_text(gate), markup=False, highlight=False)
    return status


def _has_own_estimate(name: str) -> bool:
    from gradcli.methods import METHODS

    m = METHODS[name]
    return bool(m.check) or m.adaptive


def _gate(report: Any, tol: float, own: bool) -> dict[str, Any]:
    """--fail-above: each method's worst error (or, with ``own``, its own estimate of it)
    against ``tol``. A method that could not run here counts as failing: the gate cannot vouch
    for it."""
    errors: dict[str, float | None] = {}
    for name, m in report.methods.items():
        if own:
            errors[name] = m.estimated_score()
        else:
            score = m.score()
            errors[name] = score if math.isfinite(score) else None
    failed = [n for n, e in errors.items() if e is None or e > tol]
    return {
        "tolerance": tol,
        "against": "own error estimate" if own else "exact reference",
        "errors": errors,
        "failed": failed,
    }


def _gate_text(gate: dict[str, Any]) -> str:
    from gradcli.methods import METHODS

    tol, against = gate["tolerance"], gate["against"]

    def worst(name: str) -> str:
        e = gate["errors"][name]
        return f"{METHODS[name].label} {e:.2e}" if e is not None else f"{METHODS[name].label} n/a"

    if gate["failed"]:
        listed = ", ".join(worst(n) for n in gate["failed"])
        return f"fail: above --fail-above {tol:g} (worst error, by the {against}): {listed}"
    listed = ", ".join(worst(n) for n in gate["errors"])
    return f"pass: every method within --fail-above {tol:g} (by the {against}): {listed}"
