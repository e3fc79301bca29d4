"""Long inputs: a flat sum of N terms, text to gradient end to end (`gradcli grad - --json`).

Issue 2 asks: 10,000 terms (sin(1*x)/1 + ... + sin(10000*x)/10000) in under 3 s end to end, and
20,000 terms in at most ~2.3x the time of 10,000 (linear growth). Each size runs as a fresh
process reading the expression from standard input, interleaved, best of --runs.

Run:  python benchmarks/bench_long_input.py [--runs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def expression(n: int) -> str:
    return "+".join(f"sin({k}*x)/{k}" for k in range(1, n + 1))


def once(text: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gradcli", "grad", "-", "--at", "x=0.5", "--json"],
        input=text,
        text=True,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--smoke", action="store_true", help="a tiny run that only proves it works (CI)"
    )
    args = ap.parse_args()
    sizes = (1_000, 2_000) if args.smoke else (10_000, 20_000)
    if args.smoke:
        args.runs = 1
    texts = {n: expression(n) for n in sizes}
    best = {n: float("inf") for n in sizes}
    for _ in range(args.runs):
        for n in sizes:
            best[n] = min(best[n], once(texts[n]))
    for n in sizes:
        print(f"{n:>6,} terms ({len(texts[n]):>7,} chars): {best[n]:.2f} s end to end")
    small, large = sizes
    print(
        f"ratio {large:,} / {small:,} : {best[large] / best[small]:.2f} (target <= 2.3; 10k < 3 s)"
    )


if __name__ == "__main__":
    main()
