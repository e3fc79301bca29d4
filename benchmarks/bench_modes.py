"""Forward against reverse mode: where the crossover lies for m outputs and n inputs.

The workload is a small network: a shared hidden layer h_k = tanh(sum_j w_kj x_j) (16 units)
and m outputs y_i = sum_k v_ik h_k, so every output depends on every input through shared work.
The whole Jacobian takes m backward passes in reverse mode (one row each) and n passes in
forward mode (one column each), over the same Value graph, through the same op table. The table
shows the time of each and their ratio for a grid of (m, n): reverse wins when m < n, forward
when m > n, and they cost about the same on the diagonal. Both Jacobians are checked to agree.

Run:  python benchmarks/bench_modes.py [--repeats 3] [--smoke]
"""

from __future__ import annotations

import argparse
import math
import time

from gradcli import Value, grad, jvp

HIDDEN = 16


def outputs(m: int, n: int) -> tuple[list[Value], list[Value]]:
    xs = [Value(0.1 + 0.9 * j / n) for j in range(n)]
    hidden = [
        sum((x * math.sin(1.0 + k + 0.37 * j) for j, x in enumerate(xs)), Value(0.0)).tanh()
        for k in range(HIDDEN)
    ]
    ys = [
        sum((h * math.cos(0.5 + i + 0.21 * k) for k, h in enumerate(hidden)), Value(0.0))
        for i in range(m)
    ]
    return ys, xs


def reverse(ys: list[Value], xs: list[Value]) -> list[list[float]]:
    return [grad(y, xs) for y in ys]


def forward(ys: list[Value], xs: list[Value]) -> list[list[float]]:
    n = len(xs)
    cols = [jvp(ys, xs, [1.0 if i == j else 0.0 for i in range(n)]) for j in range(n)]
    return [[cols[j][i] for j in range(n)] for i in range(len(ys))]


def best_time(fn, *args, repeats: int) -> tuple[float, list[list[float]]]:  # type: ignore[no-untyped-def]
    best, out = math.inf, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (for CI)")
    args = ap.parse_args()
    sizes = (1, 4, 16) if args.smoke else (1, 4, 16, 64)
    repeats = 1 if args.smoke else args.repeats
    print(
        f"{'m outputs':>9} {'n inputs':>8} {'reverse (m passes)':>19} {'forward (n passes)':>19}"
        f" {'forward/reverse':>15}"
    )
    for m in sizes:
        for n in sizes:
            ys, xs = outputs(m, n)
            t_rev, j_rev = best_time(reverse, ys, xs, repeats=repeats)
            t_fwd, j_fwd = best_time(forward, ys, xs, repeats=repeats)
            for a, b in zip(j_rev, j_fwd):
                assert all(math.isclose(p, q, rel_tol=1e-12, abs_tol=1e-14) for p, q in zip(a, b))
            print(
                f"{m:>9} {n:>8} {t_rev * 1e3:>16.2f} ms {t_fwd * 1e3:>16.2f} ms "
                f"{t_fwd / t_rev:>14.2f}x"
            )


if __name__ == "__main__":
    main()
