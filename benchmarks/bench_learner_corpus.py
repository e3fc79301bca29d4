"""``gradcli check`` over a corpus of learners' code in many styles: false alarms and misses.

Reads a manifest (by default ``tests/learner_corpus/styles/manifest.json``): each file, whether it
is correct, and the method a planted bug is in. A correct file must give zero failures; a buggy
one must fail, with its first root cause naming the method the bug is in (``__mul__`` ->
``mul``, ``Node.__radd__`` -> ``add (__radd__)``). Prints one line per file, then the tallies,
checks per file, and time per file (median), with and without PyTorch as the second reference.

    python benchmarks/bench_learner_corpus.py            # the whole corpus, without torch
    python benchmarks/bench_learner_corpus.py --torch    # with PyTorch too
    python benchmarks/bench_learner_corpus.py --smoke    # three files (CI)
    python benchmarks/bench_learner_corpus.py --manifest OTHER/manifest.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "tests" / "learner_corpus"))

from oracle import judge  # noqa: E402

from gradcli.learner.expected import References  # noqa: E402
from gradcli.learner.main import NothingToCheck, check_file  # noqa: E402
from gradcli.learner.report import FileReport  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--manifest", default=str(ROOT / "tests" / "learner_corpus" / "styles" / "manifest.json")
    )
    ap.add_argument("--torch", action="store_true", help="PyTorch as the second reference")
    ap.add_argument("--smoke", action="store_true", help="three files only")
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    manifest = Path(args.manifest)
    entries = json.loads(manifest.read_text())
    if args.smoke:
        entries = entries[:3]
    refs = References(use_torch=args.torch)
    tally: dict[str, dict[str, int]] = {"correct": {}, "buggy": {}}
    times: list[float] = []
    checks: list[int] = []
    for e in entries:
        path = manifest.parent / e["file"]
        report: FileReport | None = None
        error = ""
        start = time.perf_counter()
        try:
            report = check_file(
                path, args.timeout, e.get("class") if e.get("pass_class") else None, refs=refs
            )
        except NothingToCheck as exc:
            error = exc.message
        times.append(time.perf_counter() - start)
        if report is not None:
            checks.append(len(report.checks))
        verdict, detail = judge(e, report, error)
        kind = "correct" if e["correct"] else "buggy"
        tally[kind][verdict] = tally[kind].get(verdict, 0) + 1
        print(f"{verdict:12} {e['file']:45} {times[-1]:5.2f}s  {detail}")
    print()
    for kind, t in tally.items():
        total = sum(t.values())
        print(f"{kind}: {total} files: " + ", ".join(f"{k} {v}" for k, v in sorted(t.items())))
    if times:
        print(
            f"time per file: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
            f"({'with' if args.torch else 'without'} torch); checks per file: median "
            f"{statistics.median(checks) if checks else 0:.0f}"
        )


if __name__ == "__main__":
    main()
