"""``gradcli check`` on Value classes: correct ones in several styles pass, and each planted
single bug is caught and blamed on the op (or on backward()) where it was planted."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradcli.learner.main import check_file
from gradcli.learner.report import FileReport

CORPUS = Path(__file__).parent / "learner_corpus"
LECTURE = CORPUS / "lecture_value.py"


def check(path: Path, **kw: object) -> FileReport:
    kw.setdefault("use_torch", False)
    kw.setdefault("timeout", 5.0)
    return check_file(path, **kw)  # type: ignore[arg-type]


def mutant(tmp_path: Path, old: str, new: str, base: Path = LECTURE) -> Path:
    src = base.read_text()
    assert src.count(old) >= 1, old
    path = tmp_path / "value.py"
    path.write_text(src.replace(old, new, 1))
    return path


def failing(report: FileReport) -> list[str]:
    return [f"{c.name}: {c.message}" for c in report.checks if not c.passed]


# ---- correct classes pass ----------------------------------------------------------------------


def test_check_lecture_style_value_passes():
    report = check(LECTURE)
    assert report.load_error is None
    assert failing(report) == []
    assert report.passed > 60
    assert report.root_causes == []
    assert {"Value.add", "Value.mul", "Value.pow", "Value.tanh", "Value.exp"} <= set(report.found)
    assert "Value.sigmoid" in report.skipped
    # what the lecture's class lacks or does differently is said in notes, not failures
    notes = " ".join(report.notes)
    assert "__rsub__" in notes and "__rtruediv__" in notes
    assert "RecursionError" in notes  # its recursive topological sort, past 1,000 nodes
    assert "compound" in notes  # a second backward() adds the inner nodes' old grads again


def test_check_micrograd_itself_passes():
    engine = pytest.importorskip("micrograd.engine")
    report = check(Path(engine.__file__))
    assert failing(report) == []
    # micrograd has + * ** relu and the operators built from them: a complete, passing file
    assert {"Value.exp", "Value.log", "Value.tanh"} <= {s.split(" ")[0] for s in report.skipped}
    assert "Value.relu" in report.found


def test_check_stored_locals_iterative_value_passes():
    report = check(CORPUS / "stored_locals_value.py")
    assert failing(report) == []
    notes = " ".join(report.notes)
    assert "RecursionError" not in notes  # an explicit stack has no recursion limit
    assert "afresh" in notes  # its backward() zeroes the grads first
    assert any("no per-node step" in g for g in report.gaps)  # said as a gap in coverage


def test_check_gradcli_own_value_passes():
    # gradcli's engine, checked as a learner's file: its nodes have micrograd's _backward, and
    # a second backward() accumulates into the leaves as PyTorch's does
    import gradcli.engine

    report = check(Path(gradcli.engine.__file__))
    assert failing(report) == []
    assert any("_backward alone" in c.name for c in report.checks)


def test_check_against_torch_says_so():
    pytest.importorskip("torch")
    report = check(LECTURE, use_torch=True)
    assert failing(report) == []
    assert "PyTorch" in report.reference and "float64" in report.reference
    assert any("gradcli and PyTorch" in c.message for c in report.checks)


# ---- single bugs, each blamed where it was planted ---------------------------------------------

MUTATIONS = [
    # id, old, new, blamed, a phrase the hint must contain
    (
        "mul_uses_self",
        "self.grad += other.data * out.grad",
        "self.grad += self.data * out.grad",
        "mul",
        "the rule for mul uses self.data where it needs other.data",
    ),
    (
        "mul_ignores_out_grad",
        "self.grad += other.data * out.grad",
        "self.grad += other.data",
        "mul",
        "does not multiply by out.grad",
    ),
    (
        "add_assigns",
        "self.grad += 1.0 * out.grad",
        "self.grad = 1.0 * out.grad",
        "add",
        "assigns (=) to self.grad where it must add (+=)",
    ),
    (
        "pow_exponent_not_lowered",
        "other * (self.data ** (other - 1))",
        "other * (self.data**other)",
        "pow",
        "the exponent is not lowered",
    ),
    (
        "pow_factor_missing",
        "other * (self.data ** (other - 1))",
        "(self.data ** (other - 1))",
        "pow",
        "the factor n is missing",
    ),
    (
        "exp_uses_input",
        "self.grad += out.data * out.grad",
        "self.grad += x * out.grad",
        "exp",
        "uses self.data where it needs out.data",
    ),
    (
        "tanh_uses_input",
        "(1 - t**2) * out.grad",
        "(1 - x**2) * out.grad",
        "tanh",
        "uses self.data where it needs out.data",
    ),
    (
        "log_multiplies",
        "(1 / x) * out.grad",
        "x * out.grad",
        "log",
        "it must divide by it",
    ),
    (
        "relu_always_passes",
        "(out.data > 0) * out.grad",
        "1.0 * out.grad",
        "relu",
        "even where the input is negative",
    ),
    ("sub_loses_minus", "return self + (-other)", "return self + other", "sub", "minus sign"),
    ("neg_keeps_sign", "return self * -1", "return self * 1", "neg", "not flipped"),
    ("div_multiplies", "return self * other**-1", "return self * other**1", "div", "multiplies"),
    (
        "rmul_calls_itself",
        "    def __rmul__(self, other):  # other * self\n        return self * other\n",
        "    def __rmul__(self, other):  # other * self\n        return other * self\n",
        "mul (__rmul__)",
        "__rmul__ calls itself",
    ),
    (
        "radd_multiplies",
        "    def __radd__(self, other):  # other + self\n        return self + other\n",
        "    def __radd__(self, other):  # other + self\n        return self * other\n",
        "add (__radd__)",
        "1.5 + a",
    ),
    (
        "order_not_reversed",
        "for node in reversed(topo):",
        "for node in topo:",
        "backward",
        "from the inputs to the output",
    ),
    (
        "double_visits",
        "            if v not in visited:\n                visited.add(v)\n",
        "            if True:\n",
        "backward",
        "keep a visited set",
    ),
    (
        "no_seed",
        "        self.grad = 1.0\n        for node",
        "        for node",
        "backward",
        "seed",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "blamed", "phrase"),
    [m[1:] for m in MUTATIONS],
    ids=[m[0] for m in MUTATIONS],
)
def test_check_value_blames_the_planted_bug(tmp_path, old, new, blamed, phrase):
    report = check(mutant(tmp_path, old, new))
    assert report.root_causes == [blamed], failing(report)
    roots = [c for c in report.checks if c.status == "fail" and c.consequence_of is None]
    assert any(phrase in (c.hint or "") for c in roots), [c.hint for c in roots]


# ---- what is not written yet is a todo, never a failure of another op ---------------------------

NOT_YET = [
    # id, old, new, the check that says todo, what the todo names
    (
        "no_radd",
        "    def __radd__(self, other):  # other + self\n        return self + other\n",
        "",
        "1.5 + a",
        "__radd__",
    ),
    (
        "no_rmul",
        "    def __rmul__(self, other):  # other * self\n        return self * other\n",
        "",
        "2.0 * a",
        "__rmul__",
    ),
    (
        "constants_not_wrapped",
        "        other = other if isinstance(other, Value) else Value(other)\n"
        "        out = Value(self.data + other.data",
        "        out = Value(self.data + other.data",
        "a + 1.5",
        "__add__ does not turn numbers into Values",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "check_name", "phrase"),
    [m[1:] for m in NOT_YET],
    ids=[m[0] for m in NOT_YET],
)
def test_check_value_missing_form_is_todo_not_failure(tmp_path, old, new, check_name, phrase):
    report = check(mutant(tmp_path, old, new))
    assert failing_only(report) == [], failing_only(report)
    assert report.root_causes == []
    todo = [c for c in report.checks if c.status == "todo"]
    assert any(c.name == check_name and phrase in (c.message + c.todo) for c in todo), [
        (c.name, c.message) for c in todo
    ]
    assert report.status == "todo" and not report.exit_failed


def test_check_value_missing_form_is_required_by_the_exercise_profile(tmp_path):
    old, new = NOT_YET[0][1:3]
    report = check(mutant(tmp_path, old, new), required=("Value",))
    assert report.status == "todo" and report.exit_failed
    assert any(c.status == "todo" and "__radd__" in c.message for c in report.checks)


def failing_only(report: FileReport) -> list[str]:
    return [f"{c.name}: {c.message}" for c in report.checks if c.status in ("fail", "not_run")]


def test_check_value_hint_reads_like_the_lecture(tmp_path):
    report = check(mutant(tmp_path, *MUTATIONS[0][1:3]))
    c = next(c for c in report.checks if c.name == "d(a*b)/da")
    assert (c.passed, c.op, c.expected, c.got) == (False, "mul", -3.0, 2.0)
    assert c.hint == (
        "d(a*b)/da: expected b = -3.0, got a = 2.0: the rule for mul uses self.data where it "
        "needs other.data"
    )


def test_check_value_derived_ops_are_consequences_of_mul(tmp_path):
    # the lecture builds -a as a * -1, a - b as a + (-b), a / b as a * b**-1
    report = check(mutant(tmp_path, *MUTATIONS[0][1:3]))
    consequences = {c.op: c.consequence_of for c in report.checks if c.consequence_of}
    assert consequences.get("neg") == "mul"
    assert consequences.get("sub") == "mul"
    assert consequences.get("div") == "mul"
    assert all(
        c.consequence_of == "mul"
        for c in report.checks
        if c.status == "fail" and c.op in ("sub", "div", "neg", "backward")
    )


def test_check_value_neg_bug_makes_sub_its_consequence(tmp_path):
    # sub's graph holds a mul by a constant, as neg's does: sub fails because of neg
    report = check(mutant(tmp_path, "return self * -1", "return self * 1"))
    sub = [c for c in report.checks if c.op == "sub" and c.status == "fail"]
    assert sub and all(c.consequence_of == "neg" for c in sub)


def test_check_value_stored_locals_assignment_blames_backward(tmp_path):
    base = CORPUS / "stored_locals_value.py"
    report = check(mutant(tmp_path, "child.grad += local", "child.grad = local", base))
    assert report.root_causes == ["backward"]
    hint = next(c.hint for c in report.checks if c.status == "fail" and not c.consequence_of)
    assert "+=" in (hint or "")


def test_check_value_missing_rsub_is_a_note_not_a_failure(tmp_path):
    report = check(LECTURE)
    assert not any(c.name == "1.5 - a" for c in report.checks)
    assert any("no __rsub__" in n for n in report.notes)


def test_check_value_repeated_backward_accumulating_into_leaves(tmp_path):
    # zero the inner nodes only, keep the leaves: PyTorch's behaviour
    path = mutant(
        tmp_path,
        "        self.grad = 1.0\n",
        "        for node in topo:\n"
        "            if node._prev:\n"
        "                node.grad = 0.0\n"
        "        self.grad = 1.0\n",
    )
    report = check(path)
    assert failing(report) == []
    assert any("accumulate into the inputs, as PyTorch" in n for n in report.notes)


def test_check_value_hanging_backward_waits_once(tmp_path):
    import time

    path = mutant(
        tmp_path,
        "        build_topo(self)\n",
        "        build_topo(self)\n        while True:\n            pass\n",
    )
    start = time.monotonic()
    report = check(path, timeout=1.5)
    elapsed = time.monotonic() - start
    assert elapsed < 2 * 1.5 + 2  # one wait, not one per check
    assert report.root_causes == ["backward"]
    not_run = [c for c in report.checks if c.status == "not_run"]
    assert not_run and all(c.consequence_of == "backward" for c in not_run)
    # the local rules need no backward(): they are still checked, and pass
    assert any(c.passed and "_backward alone" in c.name for c in report.checks)


def test_check_value_equality_by_value_is_named(tmp_path):
    # seen in a learner's repository: __eq__/__hash__ by value merge two children of equal value
    path = tmp_path / "value.py"
    path.write_text(
        LECTURE.read_text()
        + "\n\nValue.__eq__ = lambda self, other: getattr(other, 'data', None) == self.data\n"
        + "Value.__hash__ = lambda self: hash(self.data)\n"
    )
    report = check(path)
    assert "__eq__" in report.root_causes
    c = next(c for c in report.checks if c.blame == "__eq__")
    assert "compare nodes by value" in (c.hint or "")
    assert c.expected == 3.0 and c.got == 0.0  # d(a*a + b*b)/db = 2b at b = 1.5, lost
