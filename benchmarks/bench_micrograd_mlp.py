"""Forward + backward on micrograd's demo workload: gradcli's Value against micrograd 0.1.0.

The workload is micrograd's own: ``MLP(2, [16, 16, 1])`` from ``micrograd.nn``, max-margin
loss with L2 regularisation over 100 two-dimensional points (two interleaved half-moons, as in
micrograd's demo notebook, generated here without scikit-learn), forward + backward + SGD step.
Each engine runs in a fresh process; micrograd's ``nn`` module is used for both, with
``micrograd.nn.Value`` replaced by gradcli's Value for the gradcli run.

Run:  python benchmarks/bench_micrograd_mlp.py [--steps 10] [--repeats 3]
Needs: pip install micrograd==0.1.0
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys

WORKER = r"""
import json, math, random, sys, time
engine, steps = sys.argv[1], int(sys.argv[2])
import micrograd.nn as nn
if engine == "gradcli":
    from gradcli import Value
    nn.Value = Value
else:
    from micrograd.engine import Value

def moons(n, noise=0.1, seed=1337):
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2 == 0:
            x, y, label = math.cos(t), math.sin(t), 1
        else:
            x, y, label = 1 - math.cos(t), 0.5 - math.sin(t), -1
        xs.append([x + rng.gauss(0, noise), y + rng.gauss(0, noise)])
        ys.append(label)
    return xs, ys

random.seed(1337)
X, y = moons(100)
model = nn.MLP(2, [16, 16, 1])

def loss():
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
    return data_loss + reg_loss

times, losses = [], []
for k in range(steps):
    t0 = time.perf_counter()
    total = loss()
    model.zero_grad()
    total.backward()
    times.append(time.perf_counter() - t0)
    lr = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= lr * p.grad
    losses.append(total.data)
print(json.dumps({"engine": engine, "best": min(times), "median": sorted(times)[len(times)//2],
                  "losses": losses}))
"""


def run(engine: str, steps: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, engine, str(steps)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="training steps per process")
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per engine")
    ap.add_argument(
        "--smoke", action="store_true", help="a tiny run that only proves it works (CI)"
    )
    args = ap.parse_args()
    if args.smoke:
        args.steps, args.repeats = 1, 1
    best: dict[str, float] = {}
    for _ in range(args.repeats):
        for engine in ("micrograd", "gradcli"):  # interleaved, so drift hits both alike
            r = run(engine, args.steps)
            best[engine] = min(best.get(engine, math.inf), r["median"])
            last = r["losses"]
    ratio = best["micrograd"] / best["gradcli"]
    print(f"micrograd 0.1.0 : {best['micrograd'] * 1e3:8.1f} ms per forward+backward (median)")
    print(f"gradcli Value   : {best['gradcli'] * 1e3:8.1f} ms per forward+backward (median)")
    print(f"speed-up        : {ratio:.2f}x (target >= 5x)")
    print(f"final loss      : {last[-1]:.6f} after {args.steps} steps")


if __name__ == "__main__":
    random.seed(0)
    main()
