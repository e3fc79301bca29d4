"""``gradcli softmax``: the softmax + cross-entropy gradient, p - onehot, four ways."""

from __future__ import annotations

import json
import math
import sys

import typer

from gradcli.commands.common import JSON_OPT, emit_json, make_console
from gradcli.errors import ExitStatus, PointError
from gradcli.nn import EXAMPLE_LOGITS, EXAMPLE_TARGET, softmax_report

EXAMPLE_NOTE = "built-in example: the classic exercise, logits 0 3 -2 1 with target 3"

EPILOG = (
    "Examples:\n\n"
    "  gradcli softmax                            the classic exercise: 0 3 -2 1, target 3\n\n"
    "  gradcli softmax 0 3 -2 1 --target 3\n\n"
    "  gradcli softmax 1000 1001 1002 --target 0 --naive     (the textbook formula overflows)\n\n"
    "  gradcli softmax --target 1 -- -1000 0 1000  (after --, every word is a logit)\n\n"
    "  gradcli softmax --logits-file logits.txt --target 42 --json   (one number per line, or a "
    "JSON list; - reads standard input)"
)

LOGITS_HELP = (
    "The logits, one number per class (negative numbers are fine: 0 3 -2 1). Leave them out "
    "for the classic example."
)


def softmax_command(
    logits: list[str] | None = typer.Argument(
        None, help=LOGITS_HELP, metavar="LOGIT...", show_default=False
    ),
    target: int | None = typer.Option(
        None,
        "--target",
        "-t",
        help="The correct class, counted from 0 (required with logits; 3 for the example).",
        metavar="K",
        show_default=False,
    ),
    logits_file: str | None = typer.Option(
        None,
        "--logits-file",
        help="Read the logits from FILE: one number per line, or a JSON list (- for stdin).",
        metavar="FILE",
        show_default=False,
    ),
    naive: bool = typer.Option(
        False, "--naive", help="Also show exp(x)/sum(exp(x)) computed directly (it overflows)."
    ),
    use_torch: bool = typer.Option(
        True,
        "--torch/--no-torch",
        help="Compare with torch.nn.functional.cross_entropy in float64 (when torch is installed).",
    ),
    as_json: bool = JSON_OPT,
) -> ExitStatus:
    """Softmax cross-entropy: the loss and its gradient, p - onehot(target), checked four ways.

    For each class: the logit, its probability, the gradient of the loss
    logsumexp(x) - x[target] by reverse mode through the Value graph, the closed form
    p - onehot(target), a central-difference estimate and PyTorch's cross_entropy gradient,
    then a verdict. Exit code 1 if the columns disagree.
    """
    if logits and logits_file is not None:
        raise PointError(
            "give the logits either as arguments or with --logits-file, not both",
            hint="drop one of them",
        )
    builtin = False
    if logits_file is not None:
        xs = read_logits_file(logits_file)
    elif logits:
        xs = parse_logits(logits)
    else:
        xs = list(EXAMPLE_LOGITS)
        builtin = True
        if target is None:
            target = EXAMPLE_TARGET
    if target is None:
        raise PointError(
            f"no target class given for these {len(xs)} logits",
            hint=f"add --target K with K from 0 to {len(xs) - 1}",
        )
    if not 0 <= target < len(xs):
        raise PointError(
            f"--target {target} is out of range: there are {len(xs)} classes, numbered 0 to "
            f"{len(xs) - 1}",
            hint=f"give a class from 0 to {len(xs) - 1}",
        )
    report = softmax_report(xs, target, use_torch=use_torch, naive=naive)
    if as_json:
        emit_json(report.to_json())
    else:
        from gradcli.render.softmax import render_softmax

        console = make_console()
        note = EXAMPLE_NOTE if builtin else None
        console.print(render_softmax(report, note, width=console.width))
    return ExitStatus.OK if report.agree else ExitStatus.MISMATCH


_HINT = "give numbers such as 0 3 -2 1 (one per class)"


def parse_logits(words: list[str], source: str = "logit") -> list[float]:
    """Each word (or comma-separated part of one) as a finite float; name the bad one."""
    out: list[float] = []
    for word in words:
        for part in word.replace(",", " ").split():
            out.append(_number(part, f"{source} {len(out)}"))  # counted from 0, like classes
    if not out:
        raise PointError("no logits given", hint=_HINT)
    return out


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PointError(f"{where} is not a number: {text!r}", hint=_HINT) from None
    if not math.isfinite(value):
        raise PointError(
            f"{where} is {text!r}: every logit must be a finite number", hint=_HINT
        ) from None
    return value


def read_logits_file(path: str) -> list[float]:
    """One number per line (blank lines and # comments skipped), or a JSON list of numbers."""
    name = "standard input" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        raise PointError(
            f"cannot read the logits file {name}: {exc.strerror or exc}",
            hint="check the path, or give the logits as arguments",
        ) from None
    except UnicodeDecodeError:
        raise PointError(
            f"the logits file {name} is not text", hint="one number per line, or a JSON list"
        ) from None
    if text.lstrip().startswith("["):
        return _json_logits(text, name)
    out: list[float] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        for part in line.replace(",", " ").split():
            out.append(_number(part, f"{name} line {lineno}"))
    if not out:
        raise PointError(f"the logits file {name} holds no numbers", hint=_FILE_HINT)
    return out


_FILE_HINT = "write one number per line, or a JSON list such as [0, 3, -2, 1]"


def _json_logits(text: str, name: str) -> list[float]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PointError(
            f"the logits file {name} is not valid JSON (line {exc.lineno}: {exc.msg})",
            hint=_FILE_HINT,
        ) from None
    if not isinstance(data, list) or not data:
        raise PointError(f"the logits file {name} holds no numbers", hint=_FILE_HINT)
    out: list[float] = []
    for i, item in enumerate(data):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise PointError(
                f"{name} entry {i} is not a number: {json.dumps(item)[:40]}", hint=_FILE_HINT
            )
        try:
            value = float(item)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise PointError(f"{name} entry {i} is not finite: every logit must be finite")
        out.append(value)
    return out
