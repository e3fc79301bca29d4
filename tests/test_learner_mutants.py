"""AST mutants of correct learners' code in several styles: each is blamed in the method it
mutates and nowhere else (the whole set: benchmarks/bench_learner_mutants.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gradcli.learner.expected import References
from gradcli.learner.main import check_file

STYLES = Path(__file__).parent / "learner_corpus" / "styles"
sys.path.insert(0, str(STYLES.parent))

from mutants import mutants  # noqa: E402
from oracle import judge  # noqa: E402

#: one style per way of writing the rules: closures, a dispatch method, another class's names,
#: slots, integer data
SAMPLE = [
    ("correct/lecture_closures.py", "Value"),
    ("correct/op_dispatch_backward.py", "Value"),
    ("correct/node_backprop.py", "Node"),
    ("correct/slots_value.py", "Value"),
    ("correct/reflected_full.py", "Value"),
]
REFS = References(use_torch=False)


def _cases() -> list:
    out = []
    for file, cls in SAMPLE:
        for m in mutants((STYLES / file).read_text(), cls):
            if m.method in ("__mul__", "__pow__", "tanh", "__rpow__", "__radd__"):
                out.append(pytest.param(file, cls, m, id=f"{file}:{m.method}:{m.operator}"))
    return out


@pytest.mark.parametrize(("file", "cls", "mutant"), _cases())
def test_mutant_is_blamed_in_its_method(tmp_path, file, cls, mutant):
    path = tmp_path / Path(file).name
    path.write_text(mutant.source)
    report = check_file(path, 5.0, refs=REFS)
    verdict, detail = judge({"correct": False, "bug_in": mutant.method}, report, "")
    assert verdict in ("ok", "miss"), detail  # never blamed elsewhere
    if verdict == "miss":
        assert mutant.operator == "flip_sign", "only a sign flip may be equivalent"


def test_mutants_cover_each_operator():
    ops = {c.values[2].operator for c in _cases()}
    assert ops == {"assign", "drop_factor", "flip_sign"}
