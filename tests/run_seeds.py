"""Run the property tests (or the whole suite) under many random seeds, to find flaky ones.

A property test that passes on one run can fail on the next, when hypothesis happens to draw a
huge integer, a deep nesting or a denormal; once it does, ``.hypothesis/`` replays that example on
every later run. This script runs the property tests (hypothesis marks each; with ``--all``,
every test) under seeds 0..N-1 (``--start`` moves the range): one pytest run per seed with
``--hypothesis-seed`` and no example database (nothing replayed, nothing saved), all in one
process so that sympy and torch are imported once. It prints one line per seed and, for each
failure, the command that reproduces it; the exit code is 1 when any seed failed.

Run:
  python tests/run_seeds.py --seeds 300                # every property test
  python tests/run_seeds.py --seeds 3 --all            # the whole suite
  python tests/run_seeds.py --seeds 20 tests/test_parse.py
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def property_files() -> list[str]:
    """The test files that use hypothesis."""
    return sorted(
        str(p)
        for p in TESTS.glob("test_*.py")
        if "from hypothesis import" in p.read_text(encoding="utf-8")
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="test files (default: those that use hypothesis)")
    ap.add_argument("--seeds", type=int, default=300, help="how many seeds (default 300)")
    ap.add_argument("--start", type=int, default=0, help="the first seed (default 0)")
    ap.add_argument("--all", action="store_true", help="the whole suite, not only property tests")
    ap.add_argument("--smoke", action="store_true", help="two seeds of tests/test_parse.py")
    args = ap.parse_args()
    if args.smoke:
        args.seeds, args.files = 2, [str(TESTS / "test_parse.py")]
    files = args.files or ([str(TESTS)] if args.all else property_files())
    # hypothesis marks every @given test: without --all, run only those
    select = [] if args.all else ["-m", "hypothesis"]

    import pytest
    from hypothesis import settings

    # no example database: every seed draws afresh, and a failure is not replayed later
    settings.register_profile("seeds", database=None, print_blob=True, derandomize=False)

    failed: list[int] = []
    t0 = time.perf_counter()
    shown = " ".join(str(Path(f).relative_to(TESTS.parent)) for f in files)
    print(f"{args.seeds} seeds from {args.start}: {shown}", flush=True)
    for seed in range(args.start, args.start + args.seeds):
        out = io.StringIO()
        t = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = pytest.main(
                [
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--hypothesis-seed={seed}",
                    "--hypothesis-profile=seeds",
                    *select,
                    *files,
                ]
            )
        summary = out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else ""
        print(f"seed {seed:4d}: {summary} ({time.perf_counter() - t:.1f} s)", flush=True)
        if code != 0:
            failed.append(seed)
            print(out.getvalue(), flush=True)
            print(
                f"reproduce: python -m pytest -p no:cacheprovider --hypothesis-seed={seed} "
                f"{' '.join(select)} {shown}",
                flush=True,
            )
    took = time.perf_counter() - t0
    print(
        f"{args.seeds - len(failed)} of {args.seeds} seeds passed"
        + (f"; failed: {', '.join(map(str, failed))}" if failed else "")
        + f" ({took:.0f} s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
