"""Hand-written backward passes: `torch.autograd.gradcheck` against gradcli's tensor check.

The same planted bugs (tests/learner_corpus/tensors/bugs.py, one per class) at the same inputs
(the first shape family gradcli finds): what each tool says, in one line, and how long each
takes in this process (torch on one thread for both, as in gradcli's child). gradcli's time is
the probe (forward, the adaptive float64 reference, the user's backward twice, the products a
matrix gradient could be) plus the judge, for one family; `gradcli check FILE` checks up to
three families per Function in a child process, and the last line times that end to end.

Run:  python benchmarks/bench_tensor_check.py [--runs 3] [--smoke]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import subprocess
import sys
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUGS = ROOT / "tests" / "learner_corpus" / "tensors" / "bugs.py"
SMOKE = ("SquareFactor", "MatMulNoTranspose", "BiasWrongDim")


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("bench_bugs", BUGS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_bugs"] = module
    spec.loader.exec_module(module)
    return module


def _one_line(text: str, width: int) -> str:
    line = " ".join(text.split())
    line = re.sub(r" \(\w+\.py, line \d+ in \w+: .*?\)(?=;|$)", "", line)  # where: not news
    return line if len(line) <= width else line[: width - 3] + "..."


def _gradcheck(cls: Any, args: list[Any]) -> str:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok = torch.autograd.gradcheck(cls.apply, tuple(args), raise_exception=True)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    return "passes" if ok else "fails"


def _gradcli(module: Any, name: str, fam: dict[str, Any]) -> str:
    from gradcli.learner import tensor_judge as tj
    from gradcli.learner import tensor_probe as tp
    from gradcli.learner.runner import Outcome

    data = tp.check(module, name, fam, lambda *a, **k: None)
    checks, _, _ = tj.judge(name, fam, Outcome("ok", result=data), True)
    bad = [c for c in checks if c.status != "pass"]
    return bad[0].message if bad else "passes"


def _warm() -> tuple[Any, list[Any]]:
    import torch

    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    return torch.exp, [x]


def _median_ms(fn: Any, runs: int) -> tuple[float, str]:
    out = ""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--width", type=int, default=110, help="characters per answer")
    ap.add_argument(
        "--smoke", action="store_true", help="a tiny run that only proves it works (CI)"
    )
    args = ap.parse_args()
    if args.smoke:
        args.runs = 1
    import torch

    from gradcli.learner import tensor_probe as tp

    torch.set_num_threads(1)  # as gradcli's child does: tiny tensors, no thread pool, both tools
    module = _load()
    names = tp.find_functions(module)
    if args.smoke:
        names = [n for n in names if n in SMOKE]
    _gradcheck(*_warm())  # the first gradcheck pays torch's one-time set-up: not counted
    totals = {"gradcheck": 0.0, "gradcli": 0.0}
    print(f"{'bug':22s} {'tool':9s} {'ms':>7s}  says")
    for name in names:
        cls = getattr(module, name)
        found = tp.find(module, name, None, "cpu", lambda *a, **k: None)
        fam = next(f for f in found["families"] if f["ok"] and f["finite"])
        build = tp.build_args(tp.parameters(cls), fam["shapes"], False, "cpu") or []
        inputs = tp.prepare_args(build, None)
        t_gc, says_gc = _median_ms(partial(_gradcheck, cls, inputs), args.runs)
        t_gl, says_gl = _median_ms(partial(_gradcli, module, name, fam), args.runs)
        totals["gradcheck"] += t_gc
        totals["gradcli"] += t_gl
        kind = (cls.__doc__ or "").split(":")[0]
        print(f"{name:22s} {'gradcheck':9s} {t_gc:7.1f}  {_one_line(says_gc, args.width)}")
        print(
            f"{'  (' + kind + ')':22s} {'gradcli':9s} {t_gl:7.1f}  {_one_line(says_gl, args.width)}"
        )
    print(
        f"{'total':22s} gradcheck {totals['gradcheck']:.0f} ms, gradcli {totals['gradcli']:.0f} ms "
        f"({totals['gradcli'] / max(totals['gradcheck'], 1e-9):.1f}x gradcheck), median of "
        f"{args.runs} run(s) each, one shape family"
    )
    if not args.smoke:
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gradcli", "check", str(BUGS)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        wall = time.perf_counter() - t0
        print(
            f"gradcli check bugs.py end to end ({len(names)} Functions, up to 3 families each, "
            f"child process and torch import included): {wall:.1f} s"
        )


if __name__ == "__main__":
    main()
