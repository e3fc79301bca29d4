"""Start-up: `gradcli grad` on the built-in example against a do-nothing typer app.

The baseline is the smallest app that pays the same unavoidable imports: one typer command that
imports typer, rich and sympy and does nothing. The target (issue 18) is a ratio of at most
1.15. Both run as fresh processes, interleaved, and the medians are compared.

Run:  python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BASELINE = """
import typer, rich, sympy

app = typer.Typer()

@app.command()
def main() -> None:
    pass

app()
"""


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument(
        "--smoke", action="store_true", help="a tiny run that only proves it works (CI)"
    )
    args = ap.parse_args()
    if args.smoke:
        args.runs = 2
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(BASELINE)
        baseline_path = f.name
    # bytecode must be cached, as it is for an installed gradcli: PYTHONDONTWRITEBYTECODE set to
    # anything (even "0") stops Python writing it, and every run would compile gradcli afresh
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    base_cmd = [sys.executable, baseline_path]
    grad_cmd = [sys.executable, "-m", "gradcli", "grad"]
    for cmd in (base_cmd, grad_cmd):  # warm the file cache and the bytecode
        timed(cmd)
    base, grad = [], []
    for _ in range(args.runs):
        base.append(timed(base_cmd))
        grad.append(timed(grad_cmd))
    os.unlink(baseline_path)
    b, g = statistics.median(base), statistics.median(grad)
    print(f"typer+rich+sympy do-nothing app : {b * 1e3:7.1f} ms (median of {args.runs})")
    print(f"gradcli grad (built-in example) : {g * 1e3:7.1f} ms (median of {args.runs})")
    print(f"ratio                           : {g / b:.2f} (target <= 1.15)")


if __name__ == "__main__":
    main()
