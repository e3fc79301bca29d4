"""Scale: central differences on a 2,000-variable expression against ``gradcli grad`` on it.

The issue's target: central differences (every partial derivative, 2 x 2,000 function
evaluations through the compiled numpy function) take at most 3x the time of ``gradcli grad``
(forward and backward through the Value graph) on the same expression.

Measured two ways, side by side in one run:

* in process: ``numpy_fn.compile_numpy`` + ``methods.stencil(..., "central")`` against
  ``gradient.grad_report`` (both from the parsed expression, medians of --runs);
* fresh processes: ``gradcli compare EXPR --method central --json`` (which also computes both
  references: the reverse-mode gradient and the 50-digit mpmath one) against
  ``gradcli grad EXPR --json``, interleaved, medians.

Run:  python benchmarks/bench_compare_scale.py [--vars 2000] [--runs 5] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def expression(n: int) -> str:
    """A chain that couples neighbours, with several ops per variable."""
    terms = []
    for i in range(n):
        j = (i + 1) % n
        terms.append(f"sin(x{i})*x{j} + exp(-x{i}**2)/(1 + x{j}**2) - log(1 + x{i}**2)")
    return " + ".join(terms)


def point(n: int) -> list[str]:
    return [",".join(f"x{i}={0.1 + (i % 17) / 10}" for i in range(n))]


def in_process(text: str, n: int, runs: int) -> tuple[float, float]:
    import numpy as np

    from gradcli import methods, numpy_fn
    from gradcli.commands.common import parse_point
    from gradcli.gradient import grad_report
    from gradcli.parse import parse

    expr = parse(text)
    pt = parse_point(point(n))
    grad_t, central_t = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        grad_report(expr, pt)
        t1 = time.perf_counter()
        f = numpy_fn.compile_numpy(expr)
        base = [pt[v] for v in expr.variables]
        steps = np.array([methods.default_step("central", x) for x in base])
        methods.stencil(f, base, "central", steps, 0.0)
        t2 = time.perf_counter()
        grad_t.append(t1 - t0)
        central_t.append(t2 - t1)
    return statistics.median(grad_t), statistics.median(central_t)


def timed(cmd: list[str], stdin: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, input=stdin, text=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vars", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="20 variables, one run (for CI)")
    args = ap.parse_args()
    if args.smoke:
        args.vars, args.runs = 20, 1
    text = expression(args.vars)
    from gradcli.parse import parse

    print(f"expression: {args.vars:,} variables, {parse(text).size:,} tree nodes")
    g, c = in_process(text, args.vars, args.runs)
    print(
        f"in process:   grad {g * 1e3:8.1f} ms   central differences {c * 1e3:8.1f} ms   "
        f"ratio {c / g:.2f} (target <= 3)"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write(text)
    at = ["--at", point(args.vars)[0]]
    exe = [sys.executable, "-m", "gradcli"]
    grad_cmd = [*exe, "grad", "-", *at, "--json"]
    cmp_cmd = [*exe, "compare", "-", *at, "--method", "central", "--json"]
    timed(grad_cmd, text)  # warm the file cache
    timed(cmp_cmd, text)
    gs, cs = [], []
    for _ in range(args.runs):
        gs.append(timed(grad_cmd, text))
        cs.append(timed(cmp_cmd, text))
    os.unlink(fh.name)
    g2, c2 = statistics.median(gs), statistics.median(cs)
    print(
        f"processes:    gradcli grad {g2:6.2f} s   gradcli compare --method central {c2:6.2f} s   "
        f"ratio {c2 / g2:.2f} (includes the 50-digit reference)"
    )


if __name__ == "__main__":
    main()
