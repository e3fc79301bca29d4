"""``gradcli check`` on the exercise's functions: finite differences (diagnosed by their order
of convergence), the hand-derived gradf (term by term), softmax and nll."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gradcli.learner import diagnose
from gradcli.learner.main import check_file
from gradcli.learner.programs import FD_FORMULAS, FD_STEPS
from gradcli.learner.report import FileReport

CORPUS = Path(__file__).parent / "learner_corpus"


def check(path: Path, **kw: object) -> FileReport:
    kw.setdefault("use_torch", False)
    kw.setdefault("timeout", 5.0)
    return check_file(path, **kw)  # type: ignore[arg-type]


def mutant(tmp_path: Path, base: str, old: str, new: str) -> Path:
    src = (CORPUS / base).read_text()
    assert old in src, old
    path = tmp_path / base
    path.write_text(src.replace(old, new, 1))
    return path


def hints(report: FileReport) -> str:
    return " | ".join(c.hint or c.message for c in report.checks if not c.passed)


# ---- finite differences ------------------------------------------------------------------------


def test_check_fd_correct_functions_pass_with_their_order():
    report = check(CORPUS / "derivatives_ok.py")
    assert hints(report) == ""
    assert report.found == ["forward_difference", "backward_difference", "symmetric_difference"]
    orders = {c.name.split("(")[0]: c.message for c in report.checks}
    assert "order 1.0" in orders["forward_difference"]
    assert "order 2.0" in orders["symmetric_difference"]


def test_check_fd_central_difference_is_accepted_as_the_symmetric_one(tmp_path):
    path = tmp_path / "d.py"
    path.write_text("def central_difference(f, x, h):\n    return (f(x + h) - f(x - h)) / (2*h)\n")
    report = check(path)
    assert report.found == ["central_difference"] and hints(report) == ""
    assert "forward_difference" in report.skipped


FD_MUTATIONS = [
    ("sym_denominator_h", "/ (2 * h)", "/ h", "symmetric_difference", "factor of 2"),
    (
        "sym_is_forward",
        "(f(x + h) - f(x - h)) / (2 * h)",
        "(f(x + h) - f(x)) / h",
        "symmetric_difference",
        "behaves like a forward difference, not a symmetric one",
    ),
    (
        "sym_order_one",
        "(f(x + h) - f(x - h)) / (2 * h)",
        "(f(x + 2*h) - f(x)) / (2*h)",
        "symmetric_difference",
        "converges at order 1 as h shrinks",
    ),
    (
        "sym_half_step",
        "(f(x + h) - f(x - h)) / (2 * h)",
        "(f(x + h/2) - f(x - h/2)) / h",
        "symmetric_difference",
        "step h/2",
    ),
    (
        "fwd_sign",
        "return (f(x + h) - f(x)) / h",
        "return (f(x) - f(x + h)) / h",
        "forward_difference",
        "wrong sign",
    ),
    (
        "fwd_fixed_step",
        "return (f(x + h) - f(x)) / h",
        "return (f(x + 1e-3) - f(x)) / 1e-3",
        "forward_difference",
        "does not change with h",
    ),
    (
        "fwd_no_division",
        "return (f(x + h) - f(x)) / h",
        "return f(x + h) - f(x)",
        "forward_difference",
        "does not divide by the step h",
    ),
    (
        "fwd_is_symmetric",
        "return (f(x + h) - f(x)) / h",
        "return (f(x + h) - f(x - h)) / (2*h)",
        "forward_difference",
        "symmetric difference, not a forward one",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "blamed", "phrase"),
    [m[1:] for m in FD_MUTATIONS],
    ids=[m[0] for m in FD_MUTATIONS],
)
def test_check_fd_blames_the_planted_bug(tmp_path, old, new, blamed, phrase):
    report = check(mutant(tmp_path, "derivatives_ok.py", old, new))
    assert report.root_causes == [blamed]
    assert phrase in hints(report)


def test_check_fd_returning_a_value_is_a_failure(tmp_path):
    path = tmp_path / "d.py"
    path.write_text(
        "class Box:\n    data = 1.0\n\ndef forward_difference(f, x, h):\n    return Box()\n"
    )
    report = check(path)
    assert report.root_causes == ["forward_difference"]
    assert "not a number" in hints(report)


def test_fd_order_measures_the_slope():
    f, x = math.sin, 0.7
    for name, p in (("forward", 1), ("symmetric", 2)):
        errors = [abs(FD_FORMULAS[name](f, x, h) - math.cos(x)) for h in FD_STEPS]
        assert diagnose.order(FD_STEPS, errors) == pytest.approx(p, abs=0.1)


# ---- the exercise's gradient -------------------------------------------------------------------


def test_check_gradf_correct_passes_against_gradcli():
    report = check(CORPUS / "gradient_ok.py")
    assert hints(report) == "" and report.passed == 3


GRADF_MUTATIONS = [
    ("chain_rule", "3 * math.cos(3 * b)", "math.cos(3 * b)", "df/db", "factor 3"),
    ("sign_of_1_over_c", "1 / c**2", "-1 / c**2", "df/dc", "the sign is wrong"),
    ("power_not_lowered", "-3 * a**2", "-3 * a**3", "df/da", "exponent is not lowered"),
    ("term_missing", " + 2.5 * b**1.5", "", "df/db", "2.5*b**1.5 (from b**2.5) is missing"),
]


@pytest.mark.parametrize(
    ("old", "new", "which", "phrase"),
    [m[1:] for m in GRADF_MUTATIONS],
    ids=[m[0] for m in GRADF_MUTATIONS],
)
def test_check_gradf_names_the_wrong_term(tmp_path, old, new, which, phrase):
    report = check(mutant(tmp_path, "gradient_ok.py", old, new))
    bad = [c for c in report.checks if not c.passed]
    assert [c.name for c in bad] == [f"gradf(a, b, c): {which}"]
    assert phrase in (bad[0].hint or "")


def test_check_gradf_numerical_estimate_is_called_out(tmp_path):
    path = tmp_path / "g.py"
    path.write_text(
        "import math\n\n"
        "def f(a, b, c):\n    return -a**3 + math.sin(3*b) - 1.0/c + b**2.5 - a**0.5\n\n"
        "def gradf(a, b, c):\n"
        "    h = 1e-6\n"
        "    return [(f(a + h, b, c) - f(a, b, c)) / h, (f(a, b + h, c) - f(a, b, c)) / h,\n"
        "            (f(a, b, c + h) - f(a, b, c)) / h]\n"
    )
    assert "numerical estimate" in hints(check(path))


# ---- softmax and nll ---------------------------------------------------------------------------


def test_check_softmax_textbook_overflow_is_a_note():
    report = check(CORPUS / "softmax_ok.py")
    assert hints(report) == ""
    note = next(n for n in report.notes if n.startswith("softmax([1000, 0]) overflows"))
    assert "exp(x - max(x))" in note


def test_check_softmax_stable_on_the_learners_own_value():
    report = check(CORPUS / "softmax_stable.py")
    assert hints(report) == ""
    assert any(c.name == "softmax([1000, 0])" and c.passed for c in report.checks)
    assert any("lecture_value.py" in n for n in report.notes)


def test_check_softmax_against_torch():
    pytest.importorskip("torch")
    report = check(CORPUS / "softmax_ok.py", use_torch=True)
    assert hints(report) == ""
    grads = [c for c in report.checks if c.name.startswith("d nll")]
    assert grads and all("PyTorch's cross_entropy" in c.message for c in grads)


SOFTMAX_MUTATIONS = [
    (
        "no_normalisation",
        "out = [c / denominator for c in counts]",
        "out = counts",
        "softmax",
        "without the division",
    ),
    (
        "nll_sign",
        "return -probs[target].log()",
        "return probs[target].log()",
        "nll",
        "the minus sign is missing",
    ),
    (
        "nll_takes_logits",
        "return -probs[target].log()",
        "return sum(p.exp() for p in probs).log() - probs[target]",
        "nll",
        "as logits",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "blamed", "phrase"),
    [m[1:] for m in SOFTMAX_MUTATIONS],
    ids=[m[0] for m in SOFTMAX_MUTATIONS],
)
def test_check_softmax_blames_the_planted_bug(tmp_path, old, new, blamed, phrase):
    report = check(mutant(tmp_path, "softmax_ok.py", old, new))
    assert report.root_causes == [blamed]
    assert phrase in hints(report)
    # the gradient of nll(softmax(x)) fails too, as a consequence
    grads = [c for c in report.checks if c.name.startswith("d nll") and not c.passed]
    assert grads and all(c.consequence_of == blamed for c in grads)


def test_check_softmax_blames_the_value_class_it_imports(tmp_path):
    (tmp_path / "value.py").write_text(
        (CORPUS / "lecture_value.py")
        .read_text()
        .replace("self.grad += out.data * out.grad", "self.grad += x * out.grad")
    )
    (tmp_path / "softmax.py").write_text(
        (CORPUS / "softmax_stable.py").read_text().replace("lecture_value", "value")
    )
    report = check(tmp_path / "softmax.py")
    assert report.root_causes == ["Value"]
    bad = [c for c in report.checks if not c.passed]
    assert bad and all(c.consequence_of == "Value" for c in bad)
    assert "softmax itself is right" in (bad[0].hint or "")


def test_check_function_with_another_signature_is_not_checked_not_failed(tmp_path):
    # real learners' code: a set's symmetric_difference, a forward difference over vectors
    path = tmp_path / "mixed.py"
    path.write_text(
        "def symmetric_difference(a, b):\n"
        "    return (a - b) | (b - a)\n\n"
        "def forward_difference(f, x0, h):\n"
        "    return [(f([*x0[:i], x0[i] + h, *x0[i + 1:]]) - f(x0)) / h for i in range(len(x0))]\n"
    )
    report = check(path)
    assert report.failed == 0 and not report.exit_failed
    assert {c.status for c in report.checks} == {"skipped"}
    notes = " ".join(report.notes)
    assert "symmetric_difference is written for other arguments" in notes
    assert "has no len()" in notes
