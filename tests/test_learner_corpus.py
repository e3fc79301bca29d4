"""Learners' code in many styles (tests/learner_corpus/styles, described by its manifest): every
correct file gives zero failures, and every planted bug is blamed in the method it is in, and
nowhere else."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gradcli.learner.expected import References
from gradcli.learner.main import check_file

STYLES = Path(__file__).parent / "learner_corpus" / "styles"
sys.path.insert(0, str(STYLES.parent))

from oracle import judge  # noqa: E402

MANIFEST = json.loads((STYLES / "manifest.json").read_text())
REFS = References(use_torch=False)


def _needs(entry: dict) -> list:
    marks = []
    for module in entry.get("needs", []):
        try:
            __import__(module)
        except ImportError:
            marks.append(pytest.mark.skip(reason=f"needs {module}"))
    return marks


@pytest.mark.parametrize(
    "entry",
    [pytest.param(e, id=e["file"], marks=_needs(e)) for e in MANIFEST if e["correct"]],
)
def test_corpus_correct_file_has_no_failure(entry):
    report = check_file(STYLES / entry["file"], 5.0, refs=REFS)
    verdict, detail = judge(entry, report, "")
    assert verdict == "ok", detail
    assert not report.exit_failed


@pytest.mark.parametrize(
    "entry",
    [pytest.param(e, id=e["file"], marks=_needs(e)) for e in MANIFEST if not e["correct"]],
)
def test_corpus_planted_bug_is_blamed_in_its_method(entry):
    report = check_file(STYLES / entry["file"], 5.0, refs=REFS)
    verdict, detail = judge(entry, report, "")
    assert verdict == "ok", detail
    assert report.exit_failed


def test_corpus_has_many_styles():
    correct = [e for e in MANIFEST if e["correct"]]
    assert len(correct) >= 15 and len([e for e in MANIFEST if not e["correct"]]) >= 15
    assert sum(e["file"].endswith(".ipynb") for e in correct) >= 5
    assert len({e["class"] for e in correct}) >= 3  # not only Value
