"""`gradcli softmax` on 10,000 logits, end to end, against the same command on 4 logits.

Both run as fresh processes (`python -m gradcli softmax ... --json`, torch column included),
interleaved, and the medians are compared: the ratio is what 10,000 classes cost on top of
starting gradcli and importing torch. Then, in-process, the vectorised central differences on
all 10,000 classes against the obvious loop (one pair of loss evaluations per class, in
Python), which is timed on the first --loop-classes classes and scaled up to 10,000.

Run:  python benchmarks/bench_softmax_large.py [--runs 5] [--n 10000]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def loop_central_difference(xs: list[float], target: int, classes: int) -> list[float]:
    """The obvious way: for each class, evaluate the loss at x + h e_i and x - h e_i."""

    def loss(v: list[float]) -> float:
        m = max(v)
        return m + math.log(math.fsum(math.exp(a - m) for a in v)) - v[target]

    h = 6.055454452393343e-06
    out = []
    for i in range(classes):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        out.append((loss(up) - loss(down)) / (up[i] - down[i]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--loop-classes", type=int, default=200)
    ap.add_argument(
        "--smoke", action="store_true", help="a tiny run that only proves it works (CI)"
    )
    args = ap.parse_args()
    if args.smoke:
        args.runs, args.n, args.loop_classes = 1, 500, 20
    rng = random.Random(0)
    xs = [rng.gauss(0.0, 3.0) for _ in range(args.n)]
    target = 42 % args.n
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(repr(x) for x in xs))
        path = f.name
    try:
        big = [sys.executable, "-m", "gradcli", "softmax", "--logits-file", path]
        big += ["--target", str(target), "--json"]
        small = [sys.executable, "-m", "gradcli", "softmax", "--json"]
        for cmd in (small, big):  # warm the file cache and the bytecode
            timed(cmd)
        t_big, t_small = [], []
        for _ in range(args.runs):
            t_small.append(timed(small))
            t_big.append(timed(big))
    finally:
        os.unlink(path)
    mb, ms = statistics.median(t_big), statistics.median(t_small)
    print(f"end to end, median of {args.runs} fresh processes (torch column included):")
    print(f"  gradcli softmax, {args.n:,} logits from a file: {mb:.3f} s")
    print(f"  gradcli softmax, the 4-logit example:        {ms:.3f} s")
    print(f"  ratio {args.n:,} / 4 logits: {mb / ms:.2f}")

    from gradcli.nn import central_difference, softmax_report

    t0 = time.perf_counter()
    softmax_report(xs, target, use_torch=False)
    t_report = time.perf_counter() - t0
    t0 = time.perf_counter()
    vec = central_difference(xs, target)
    t_vec = time.perf_counter() - t0
    k = min(args.loop_classes, args.n)
    t0 = time.perf_counter()
    loop = loop_central_difference(xs, target, k)
    t_loop = (time.perf_counter() - t0) * args.n / k
    gap = max(abs(a - b) for a, b in zip(vec[:k], loop, strict=True))
    print(f"in process, {args.n:,} logits:")
    print(f"  softmax_report, --no-torch:               {t_report:.3f} s")
    print(f"  central differences, vectorised:            {t_vec * 1e3:.1f} ms")
    print(f"  central differences, loop per class:        {t_loop:.1f} s (timed on {k}, scaled)")
    print(f"  ratio loop / vectorised: {t_loop / t_vec:.0f}x  (max gap {gap:.1e})")


if __name__ == "__main__":
    main()
