"""``gradcli check`` on torch.autograd.Function subclasses (issue 19).

The Functions live in tests/learner_corpus/tensors/: correct ones in several styles (no false
alarms at any shape gradcli tries), one planted bug per class in bugs.py (each diagnosed by name),
inputs from EXAMPLES and a forward that runs for one shape family only, a hanging and a crashing
backward. Each file is checked once per module (a child process imports torch).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from gradcli.errors import GradcliError  # noqa: E402
from gradcli.learner import tensor_judge as tj  # noqa: E402
from gradcli.learner import tensor_probe as tp  # noqa: E402
from gradcli.learner.main import check_file  # noqa: E402
from gradcli.learner.report import FileReport  # noqa: E402

CORPUS = Path(__file__).parent / "learner_corpus" / "tensors"
TIMEOUT = 20.0  # the child imports torch on a loaded machine; a hang costs this once


def _check(name: str, **options: object) -> FileReport:
    opts = {"shapes": None, "double": False, "device": "cpu", **options}
    return check_file(CORPUS / name, TIMEOUT, tensor_options=opts)


@pytest.fixture(scope="module")
def correct() -> FileReport:
    return _check("correct.py")


@pytest.fixture(scope="module")
def bugs() -> FileReport:
    return _check("bugs.py")


def _failures(report: FileReport, target: str) -> list[str]:
    return [c.message for c in report.checks if c.target == target and c.status == "fail"]


# ---- no false alarms ---------------------------------------------------------------------------

CORRECT = [
    "Square", "Mul", "MatMul", "Linear", "BiasAdd", "Softmax", "LayerNorm", "SumDim", "MaxRow",
    "Exp", "Scale", "Cube", "Dropout", "MaskedScale", "ReluInPlace", "Identity", "Flatten",
    "MulNeeds", "Tanh", "Pow", "Sort",
]  # fmt: skip


def test_learner_tensors_finds_every_function(correct: FileReport) -> None:
    assert correct.found == CORRECT


@pytest.mark.parametrize("name", CORRECT)
def test_learner_tensors_correct_function_passes(correct: FileReport, name: str) -> None:
    mine = [c for c in correct.checks if c.target == name]
    assert mine, f"{name} was not checked"
    assert all(c.status == "pass" for c in mine), [c.message for c in mine if not c.passed]


@pytest.mark.parametrize("name", ["Square", "Mul", "Exp", "Cube", "Scale", "MaxRow"])
def test_learner_tensors_correct_function_passes_at_several_shapes(
    correct: FileReport, name: str
) -> None:
    shapes = {c.name.split(" at ", 1)[1] for c in correct.checks if c.target == name}
    assert len(shapes) >= 2, shapes


def test_learner_tensors_none_for_a_tensor_is_a_note(correct: FileReport) -> None:
    assert any(n.startswith("MaskedScale: MaskedScale.backward returns None for mask") for n in
               correct.notes)  # fmt: skip


def test_learner_tensors_correct_file_exits_clean(correct: FileReport) -> None:
    assert correct.failed == 0 and correct.passed > 0
    assert correct.status == "done"


def test_learner_tensors_notes_say_shapes_and_reference_error(correct: FileReport) -> None:
    note = next(n for n in correct.notes if n.startswith("MatMul: checked at"))
    assert "a (3, 4), b (4, 5)" in note  # non-square, distinct sizes
    assert "estimated error at most" in note


# ---- planted bugs, each diagnosed by name ------------------------------------------------------

PLANTED = [
    ("SquareFactor", "off by a factor of 1/2 everywhere"),
    ("SinSign", "wrong sign"),
    ("TanhZero", "is zero everywhere"),
    ("SumIgnoresGrad", "ignores grad_out"),
    ("MatMulNoTranspose", "grad_out @ b.T (matches the numerical gradient)"),
    ("MatMulOneGradient", "returns 1 value for 2 inputs (a, b)"),
    ("MatMulFloat32", "the gradient of a is float32, a is float64"),
    ("BiasWrongDim", "summed over dim 1; b has shape (4,), so grad_out must be summed over dim 0"),
    ("SoftmaxDiagonal", "only the diagonal of the Jacobian"),
    ("NormWeightWrongDim", "must be summed over dim 0 (the batch)"),
    ("ScaleInPlace", "saved_tensors[0] (x) saved with ctx.save_for_backward was modified in place"),
    ("ExpSavedThenChanged", "saved_tensors[0] saved with ctx.save_for_backward was modified"),
    ("SquareChangesSaved", "backward modifies x in place"),
    ("Cumsum", "the largest differences (index: expected, got)"),
    ("ScaleGradForValue", "returns a tensor for factor, which is not a tensor"),
    ("SquareTransposed", "has shape (4, 3), x has shape (3, 4): torch rejects it"),
    ("DoubleOnMeta", "the gradient of x is on meta, x is on cpu"),
    ("BigSquareFactor", "off by a factor of 1/2 everywhere"),
    ("SquareLastColumn", "is wrong in column 3 (every row)"),
]


@pytest.mark.parametrize(("name", "words"), PLANTED, ids=[p[0] for p in PLANTED])
def test_learner_tensors_planted_bug_is_diagnosed(bugs: FileReport, name: str, words: str) -> None:
    failures = _failures(bugs, name)
    assert failures, f"{name}: no failure"
    assert any(words in m for m in failures), failures


@pytest.mark.parametrize(("name", "method"), [
    ("SquareFactor", "SquareFactor.backward"),
    ("ScaleInPlace", "ScaleInPlace.forward"),
    ("MatMulNoTranspose", "MatMulNoTranspose.backward"),
])  # fmt: skip
def test_learner_tensors_failure_blames_the_method(
    bugs: FileReport, name: str, method: str
) -> None:
    assert method in bugs.root_causes


def test_learner_tensors_no_two_raw_matrices(bugs: FileReport) -> None:
    """A mismatch outside the catalogue shows the largest differences and the pattern."""
    msg = next(m for m in _failures(bugs, "Cumsum") if "(3, 4)" in m or "every" in m)
    assert "in every entry" in msg or "row" in msg or "column" in msg
    assert msg.count(";") <= 4


def test_learner_tensors_shape_error_keeps_the_users_traceback(bugs: FileReport) -> None:
    c = next(c for c in bugs.checks if c.target == "MatMulNoTranspose" and c.status == "fail")
    assert "mat1 and mat2 shapes cannot be multiplied" in c.message
    assert "bugs.py" in c.traceback and "return grad_out @ b" in c.traceback


def test_learner_tensors_every_planted_bug_fails(bugs: FileReport) -> None:
    failed = {c.target for c in bugs.checks if c.status == "fail"}
    assert failed == set(bugs.found)


# ---- inputs ------------------------------------------------------------------------------------


def test_learner_tensors_examples_and_one_family() -> None:
    report = _check("examples.py")
    assert report.failed == 0 and report.passed >= 4, [c.message for c in report.checks]
    notes = " ".join(report.notes)
    assert "RowScale: checked at x (3, 4), s (4,) (found by trying shape families)" in notes
    assert "Gather: checked at x (5, 3), index (4,) int64 (from EXAMPLES)" in notes
    assert "float32" in notes  # Float32Mul is checked in its own dtype
    big = next(c for c in report.checks if c.target == "BigSquare")
    assert big.passed and "along 3 random directions" in big.message


def test_learner_tensors_shapes_override() -> None:
    report = _check("examples.py", shapes={"RowScale": [[2, 6], [6]]})
    rows = [c for c in report.checks if c.target == "RowScale"]
    assert rows and all("x (2, 6), s (6,)" in c.name for c in rows)
    assert all(c.passed for c in rows)


def test_learner_tensors_parse_shapes() -> None:
    assert tj.parse_shapes(["3x4,4x5", "Bias:3x4,()"]) == {
        "*": [[3, 4], [4, 5]],
        "Bias": [[3, 4], []],
    }
    with pytest.raises(GradcliError):
        tj.parse_shapes(["3xq"])


def test_learner_tensors_probe_on_a_dict_namespace() -> None:
    """The probe is pure: it works on a dict, in this process."""

    class Twice(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return g  # the 2 is missing

    Twice.__module__ = "ns"
    ns = {"__name__": "ns", "Twice": Twice, "torch": torch}
    assert tp.find_functions(ns) == ["Twice"]
    phases: list[str] = []
    found = tp.find(ns, "Twice", None, "cpu", lambda p, **k: phases.append(p))
    fam = next(f for f in found["families"] if f["ok"])
    data = tp.check(ns, "Twice", fam, lambda p, **k: phases.append(p))
    assert phases[-3:] == ["forward", "reference", "backward"]
    from gradcli.learner.runner import Outcome

    checks, _, _ = tj.judge("Twice", fam, Outcome("ok", result=data), True)
    assert checks[0].status == "fail" and "factor of 1/2" in checks[0].message
    assert checks[0].blame == "Twice.backward"


# ---- hangs and crashes -------------------------------------------------------------------------


def test_learner_tensors_hang_and_crash_are_reported_not_inherited() -> None:
    report = check_file(CORPUS / "hang.py", 8.0, tensor_options={"shapes": None})
    by = {c.target: c for c in report.checks if c.status == "fail"}
    assert "Hangs.backward did not finish within 8 s" in by["Hangs"].message
    assert by["Hangs"].blame == "Hangs.backward"
    assert "Crashes.backward" in by["Crashes"].message and "exited with code 3" in by[
        "Crashes"].message  # fmt: skip
    fine = [c for c in report.checks if c.target == "Double"]
    assert fine and all(c.passed for c in fine)


# ---- --double ----------------------------------------------------------------------------------


def test_learner_tensors_double_backward() -> None:
    report = _check("correct.py", double=True)
    second = [c for c in report.checks if "backward of backward" in c.name]
    ok = {c.target for c in second if c.passed}
    assert {"Square", "Mul", "Exp", "Cube", "Linear"} <= ok
    bad = {c.target: c.message for c in second if c.status == "fail"}
    assert set(bad) == {"MatMul", "LayerNorm"}  # detached ctx tensors: no second order
    assert "backward is right, but backward of backward is silently wrong" in bad["MatMul"]
    assert any("Softmax: backward of backward not checked" in n for n in report.notes)


# ---- the command line --------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradcli", "check", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_learner_tensors_cli_bad_shapes_exit_2() -> None:
    r = _cli(str(CORPUS / "correct.py"), "--shapes", "3x")
    assert r.returncode == 2 and "--shapes" in r.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_learner_tensors_cli_no_cuda_exit_2() -> None:
    r = _cli(str(CORPUS / "correct.py"), "--device", "cuda")
    assert r.returncode == 2
    assert "CUDA is not available" in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("gradcli: error")]) == 1


def test_learner_tensors_cli_exit_1_on_a_bug(tmp_path: Path) -> None:
    src = (CORPUS / "bugs.py").read_text()
    one = src.split("\n\n\nclass SinSign")[0]
    f = tmp_path / "square.py"
    f.write_text(one)
    r = _cli(str(f), "--json")
    assert r.returncode == 1, r.stderr
    assert '"target": "SquareFactor"' in r.stdout


def test_learner_tensors_modules_do_not_import_torch() -> None:
    code = (
        "import sys, gradcli.learner.tensor_probe, gradcli.learner.tensor_judge, "
        "gradcli.learner.worker, gradcli.commands.check; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_learner_tensors_double_backward_factor() -> None:
    report = _check("double.py", double=True)
    first = [c for c in report.checks if "backward of backward" not in c.name]
    assert first and all(c.passed for c in first)
    bad = [c for c in report.checks if c.status == "fail"]
    assert bad and all(c.target == "CubeHalfGraph" for c in bad)
    assert any("d/dx" in c.name and "factor of 1/2" in c.message for c in bad), [
        c.message for c in bad
    ]
