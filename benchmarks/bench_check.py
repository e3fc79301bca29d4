"""`gradcli check` on the lecture-style Value class, against running the file with python.

The baseline is what any checker pays at least: a fresh `python FILE` that loads the learner's
file (and a test using the class once). The target (issue 9) is "a correct file is checked in a
few seconds"; the second line shows what torch's import adds, the third that a file whose
backward() never returns costs one time limit, not one per check.

Run:  python benchmarks/bench_check.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "tests" / "learner_corpus" / "lecture_value.py"
BASELINE = """
import runpy
ns = runpy.run_path({path!r})
a, b = ns["Value"](2.0), ns["Value"](-3.0)
(a * b + a).backward()
"""


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--smoke", action="store_true", help="a tiny run that only proves it works (CI)"
    )
    args = ap.parse_args()
    if args.smoke:
        args.runs = 1
    with tempfile.TemporaryDirectory() as tmp:
        base_file = Path(tmp) / "baseline.py"
        base_file.write_text(BASELINE.format(path=str(LECTURE)))
        hang = Path(tmp) / "value.py"
        src = LECTURE.read_text()
        hang.write_text(
            src.replace(
                "        build_topo(self)\n",
                "        build_topo(self)\n        while True:\n            pass\n",
            )
        )
        gradcli = [sys.executable, "-m", "gradcli", "check"]
        cmds = {
            "python FILE (load it, one backward)": [sys.executable, str(base_file)],
            "gradcli check FILE --no-torch": [*gradcli, str(LECTURE), "--no-torch"],
            "gradcli check FILE (with PyTorch)": [*gradcli, str(LECTURE)],
        }
        for cmd in cmds.values():  # warm the file cache and the bytecode
            timed(cmd)
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                times[name].append(timed(cmd))
        hang_time = timed([*gradcli, str(hang), "--no-torch", "--timeout", "2"])
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["python FILE (load it, one backward)"]
    for name, t in med.items():
        print(f"{name:38s}: {t * 1e3:7.0f} ms  ({t / base:4.1f}x python FILE)")
    print(
        f"{'backward() never returns, --timeout 2':38s}: {hang_time * 1e3:7.0f} ms  "
        "(one 2 s wait, then the checks that need backward() are not run)"
    )
    print(f"median of {args.runs} runs; target: a correct file checked in a few seconds")


if __name__ == "__main__":
    main()
