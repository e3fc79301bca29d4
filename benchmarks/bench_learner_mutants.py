"""AST mutants of every correct ``.py`` style in the corpus: each blamed in its own method?

For each correct plain-Python file of ``tests/learner_corpus/styles`` and each operator method
of its class, one mutant per edit (``+=`` -> ``*=``, a product -> a sum, a sign flipped, inside
the method's derivative rule). Counts: blamed in the mutated method only (right), blamed there
and elsewhere too, blamed elsewhere only (wrong), no failure (an equivalent mutant, or a method
no check reaches). Prints the tallies and the wrong ones.

    python benchmarks/bench_learner_mutants.py            # every mutant
    python benchmarks/bench_learner_mutants.py --smoke    # the first five (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "learner_corpus"))

from mutants import mutants  # noqa: E402
from oracle import judge  # noqa: E402

from gradcli.learner.expected import References  # noqa: E402
from gradcli.learner.main import check_file  # noqa: E402

STYLES = ROOT / "tests" / "learner_corpus" / "styles"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="five mutants only")
    args = ap.parse_args()
    manifest = json.loads((STYLES / "manifest.json").read_text())
    entries = [
        e
        for e in manifest
        if e["correct"]
        and e["file"].endswith(".py")
        and e.get("loads_as_plain_python", True)
        and not e.get("needs")
    ]
    refs = References(use_torch=False)
    tally: dict[str, int] = {}
    wrong: list[str] = []
    n = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for e in entries:
            src = (STYLES / e["file"]).read_text()
            for m in mutants(src, e["class"]):
                if args.smoke and n >= 5:
                    break
                n += 1
                path = Path(tmp) / f"m{n}" / Path(e["file"]).name
                path.parent.mkdir()
                path.write_text(m.source)
                report = check_file(path, 5.0, refs=refs)
                verdict, detail = judge({**e, "correct": False, "bug_in": m.method}, report, "")
                if verdict == "miss":
                    verdict = "no failure"
                tally[verdict] = tally.get(verdict, 0) + 1
                if verdict in ("misblame", "extra_blame"):
                    wrong.append(f"{e['file']} {m.method} {m.operator}: {detail}")
    took = time.perf_counter() - start
    print(f"{n} mutants of {len(entries)} styles in {took:.0f} s")
    print(", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    for w in wrong:
        print("  " + w)


if __name__ == "__main__":
    main()
