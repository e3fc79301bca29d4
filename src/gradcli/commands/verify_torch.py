"""``gradcli verify-torch``."""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

import typer

from gradcli.commands.common import (
    AT_OPT,
    EXPR_HELP,
    JSON_OPT,
    emit_json,
    load_problems,
    make_console,
)
from gradcli.errors import ExitStatus, PointError
from gradcli.torchcheck import DEFAULT_TOLERANCES  # no torch at import time: that is lazy

_F64 = DEFAULT_TOLERANCES["float64"]
_F32 = DEFAULT_TOLERANCES["float32"]

EPILOG = (
    "Examples:\n\n"
    "  gradcli verify-torch                       the built-in suite (exit 1 if anything "
    "disagrees)\n\n"
    '  gradcli verify-torch "x**2 * sin(y)" --at x=1.5 --at y=0.3\n\n'
    '  gradcli verify-torch "relu(x) + abs(x)" --at x=0 --json\n\n'
    "  gradcli verify-torch --dtype float32 --gradcheck\n\n"
    '  gradcli verify-torch "x*y; x + y**2" --at x=1,y=2     two outputs: the Jacobian\n\n'
    '  gradcli verify-torch "tanh(x*y)" --at x=0.5,y=2 --hessian --gradcheck\n\n'
    "Agreement: |gradcli - torch| <= atol + rtol*|torch|. Defaults: "
    f"rtol={_F64[0]:g}, atol={_F64[1]:g} in float64; rtol={_F32[0]:g}, atol={_F32[1]:g} in "
    "float32. Exit codes: 0 all agree, 1 a mismatch, 2 bad input or no PyTorch."
)


class DType(str, Enum):
    float64 = "float64"
    float32 = "float32"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


def verify_torch_command(
    expr: str | None = typer.Argument(
        None,
        help=EXPR_HELP.replace("the built-in example", "the built-in suite"),
        metavar="EXPR",
        show_default=False,
    ),
    at: list[str] | None = AT_OPT,
    rtol: float | None = typer.Option(
        None,
        "--rtol",
        min=0.0,
        help=f"Relative tolerance [default: {_F64[0]:g}; {_F32[0]:g} with --dtype float32].",
        show_default=False,
    ),
    atol: float | None = typer.Option(
        None,
        "--atol",
        min=0.0,
        help=f"Absolute tolerance [default: {_F64[1]:g}; {_F32[1]:g} with --dtype float32].",
        show_default=False,
    ),
    dtype: DType = typer.Option(
        DType.float64, "--dtype", help="Precision of the torch side (gradcli uses float64)."
    ),
    device: Device = typer.Option(
        Device.cpu, "--device", help="Where the torch side runs (cuda needs a GPU)."
    ),
    gradcheck: bool = typer.Option(
        False,
        "--gradcheck",
        help="Also run torch.autograd.gradcheck (float64, finite differences) on each case; "
        "with --hessian, gradgradcheck too.",
    ),
    hessian: bool = typer.Option(
        False,
        "--hessian",
        help="Also compare second derivatives: gradcli's Hessian (reverse over reverse) "
        "against torch.autograd.functional.hessian.",
    ),
    as_json: bool = JSON_OPT,
) -> ExitStatus:
    """Cross-check gradcli's value and gradient against PyTorch autograd.

    Builds the expression as a PyTorch graph (leaf tensors with requires_grad), op by op from the
    op table, runs autograd, and compares the value and each partial derivative with gradcli's
    Value graph: both numbers, their absolute and relative difference, and a verdict. Several
    expressions separated by ';' check the Jacobian, one output at a time; --hessian checks
    second derivatives too. With no expression, runs the built-in suite. Needs PyTorch
    (pip install 'gradcli[torch]').
    """
    for option, value in (("--rtol", rtol), ("--atol", atol)):
        if value is not None and not math.isfinite(value):
            raise typer.BadParameter(
                f"the tolerance must be a finite number, got {value}", param_hint=option
            )
    from gradcli.torchcheck import verify

    kw: dict[str, Any] = {
        "dtype": dtype.value,
        "device": device.value,
        "rtol": rtol,
        "atol": atol,
        "gradcheck": gradcheck,
        "hessian": hessian,
    }
    if expr is None:
        if at:
            raise PointError(
                "--at was given without an expression; the built-in suite brings its own points",
                hint='give the expression too, e.g. gradcli verify-torch "x**2" --at x=3',
            )
        report = verify(None, **kw)
    else:
        problems = load_problems(expr, at)
        target = problems[0].expression if len(problems) == 1 else [p.expression for p in problems]
        report = verify(target, problems[0].point, **kw)
    if as_json:
        emit_json(report.to_json())
    else:
        from gradcli.render.verify import render_verify

        make_console().print(render_verify(report))
    return ExitStatus.OK if report.passed else ExitStatus.MISMATCH
