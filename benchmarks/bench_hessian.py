"""The Hessian's cost against n, and against the cost of ``grad``.

Reverse over reverse takes one backward pass that builds the gradient as Values, then one
backward pass over the gradient graph per variable: its cost should grow about as n times the
cost of one gradient (``grad``), so the ratio hessian / (n * grad) stays roughly flat as n goes
from 10 to 200. Measured side by side in one run, on one expression family,

    f = sum_i sin(x_i) * x_{i+1}**2 + exp(x_0 * x_{n-1} / 10)

(every variable couples to its neighbours; the Hessian is tridiagonal plus two corners).
Columns: the gradient alone (``gradcli.grad``, float backward pass), the Hessian by reverse over
reverse (``gradcli.hessian.reverse_over_reverse``), their ratio divided by n, the whole
``gradcli hessian`` report without sympy (it adds 2n gradients for finite differences and the
eigenvalues), and, when PyTorch is installed, ``torch.autograd.functional.hessian`` in float64
on the same function, as a yardstick. Every Hessian is checked against torch's (or, without
torch, against finite differences) before it is timed.

Run:  python benchmarks/bench_hessian.py [--repeats 3] [--smoke]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

from gradcli import grad
from gradcli.evaluate import build
from gradcli.hessian import hessian_report, reverse_over_reverse
from gradcli.parse import parse


def expression(n: int) -> str:
    terms = [f"sin(x{i})*x{i + 1}**2" for i in range(n - 1)]
    return " + ".join(terms) + f" + exp(x0*x{n - 1}/10)"


def point(n: int) -> dict[str, float]:
    return {f"x{i}": 0.3 + 0.1 * (i % 7) for i in range(n)}


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    t, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def torch_hessian(n: int) -> Callable[[], Any] | None:
    try:
        import torch
    except ImportError:
        return None
    x0 = torch.tensor([point(n)[f"x{i}"] for i in range(n)], dtype=torch.float64)

    def f(x: Any) -> Any:
        return (torch.sin(x[:-1]) * x[1:] ** 2).sum() + torch.exp(x[0] * x[-1] / 10)

    return lambda: torch.autograd.functional.hessian(f, x0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="n = 10 and 20, one repeat (for CI)")
    args = ap.parse_args()
    sizes = (10, 20) if args.smoke else (10, 20, 50, 100, 200)
    repeats = 1 if args.smoke else args.repeats
    print(f"{'n':>4} {'grad':>10} {'hessian':>10} {'hess/(n*grad)':>14} {'report':>9} {'torch':>9}")
    for n in sizes:
        e = parse(expression(n))
        pt = point(n)
        ev = build(e, pt, backward=False)
        inputs = [ev.leaves[f"x{i}"] for i in range(n)]
        t_grad, _ = best(lambda ev=ev, inputs=inputs: grad(ev.output, inputs), repeats)
        t_hess, (_, hess) = best(
            lambda ev=ev, inputs=inputs: reverse_over_reverse(ev.output, inputs), repeats
        )
        t_report, report = best(lambda e=e, pt=pt: hessian_report(e, pt, symbolic=False), 1)
        th = torch_hessian(n)
        if th is not None:
            t_torch, ref = best(th, repeats)
            reference = ref.tolist()
        else:
            t_torch, reference = math.nan, report.fd.hessian
        worst = max(
            abs(a - b) / max(1.0, abs(b))
            for row, ref_row in zip(hess, reference)
            for a, b in zip(row, ref_row)
        )
        tol = 1e-12 if th is not None else 1e-6
        assert worst <= tol, f"n={n}: the Hessian is off by {worst:.1e}"
        ratio = t_hess / (n * t_grad)
        torch_text = f"{t_torch * 1e3:8.2f}ms" if th is not None else f"{'-':>9}"
        print(
            f"{n:>4} {t_grad * 1e3:8.3f}ms {t_hess * 1e3:8.2f}ms {ratio:>14.2f} "
            f"{t_report:8.3f}s {torch_text}"
        )
    print(
        "(best of",
        repeats,
        "runs; the report is timed once. Hessians agree with torch to 1e-12.)"
        if th is not None
        else "runs; agree with finite differences.)",
    )


if __name__ == "__main__":
    main()
