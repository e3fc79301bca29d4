"""The one oracle for learners' code with a planted bug: which root causes blame the method the
bug is in. Read by tests/test_learner_corpus.py and benchmarks/bench_learner_corpus.py."""

from __future__ import annotations

from typing import Any

from gradcli.learner.programs import blame_label, op_of_method
from gradcli.learner.report import FileReport

#: what a bug in each function is blamed as, when it is not an op's method
_BLAME_WORDS = {
    "backward": ("backward",),
    "__init__": ("__init__",),
    "softmax": ("softmax",),
    "nll": ("nll",),
    "gradf": ("gradf",),
    "forward_difference": ("forward_difference",),
    "symmetric_difference": ("symmetric_difference",),
}


def expected_blames(bug_in: str) -> tuple[str, ...]:
    """The root-cause names that count as blaming ``bug_in`` (``Node.__mul__`` -> ``mul``)."""
    method = bug_in.split(".")[-1]
    op = op_of_method(method)
    if op is not None:
        return (blame_label(op, method),)
    if method == "gradf":  # each partial derivative is its own cause
        return ("gradf", *(f"gradf ({d})" for d in ("df/da", "df/db", "df/dc")))
    return _BLAME_WORDS.get(method, (method,))


def judge(entry: dict[str, Any], report: FileReport | None, error: str) -> tuple[str, str]:
    """(verdict, detail): ok / false_alarm / miss / misblame / unreadable."""
    if report is None:
        return ("unreadable" if entry["correct"] else "miss"), error
    failed = [c for c in report.checks if c.status in ("fail", "not_run")]
    roots = report.root_causes
    if report.load_error is not None:
        return ("unreadable" if entry["correct"] else "miss"), report.load_error
    if entry["correct"]:
        if failed:
            first = failed[0]
            return "false_alarm", f"{first.name}: {first.message}"[:150]
        return "ok", f"{report.passed} passed, {report.todo_count} todo"
    if not failed:
        return "miss", f"{report.passed} passed, {report.todo_count} todo"
    want = expected_blames(entry["bug_in"])
    if op_of_method(entry["bug_in"].split(".")[-1]) is None and entry.get("rule"):
        # a method that holds several rules (a _backward dispatching on self._op): the rule
        want += (entry["rule"],)
    if roots and all(r in want for r in roots):
        return "ok", f"blamed {', '.join(roots)}"
    if any(r in want for r in roots):  # the right method, and something else besides
        return "extra_blame", f"blamed {', '.join(roots)}, bug in {entry['bug_in']}"
    return "misblame", f"blamed {roots}, bug in {entry['bug_in']}"
