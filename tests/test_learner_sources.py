"""Notebooks, exported scripts and plain files read unit by unit: magics made neutral, a failing
or endless cell a note (never the end of the file), tracebacks that name the cell."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gradcli.learner import sources
from gradcli.learner.main import check_file
from gradcli.learner.report import FileReport

CORPUS = Path(__file__).parent / "learner_corpus"
LECTURE = (CORPUS / "lecture_value.py").read_text()


def notebook(path: Path, cells: list[str], colab: bool = False) -> Path:
    meta: dict[str, object] = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    if colab:
        meta = {"colab": {"provenance": []}, "accelerator": "GPU"}
    else:
        meta["language_info"] = {"name": "python", "file_extension": ".py"}
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": meta,
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# micrograd\n"]}]
        + [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": c.splitlines(keepends=True),
            }
            for c in cells
        ],
    }
    path.write_text(json.dumps(nb))
    return path


def check(path: Path, **kw: object) -> FileReport:
    kw.setdefault("use_torch", False)
    kw.setdefault("timeout", 5.0)
    return check_file(path, **kw)  # type: ignore[arg-type]


def failing(report: FileReport) -> list[str]:
    return [f"{c.name}: {c.message}" for c in report.checks if c.status in ("fail", "not_run")]


# ---- reading -----------------------------------------------------------------------------------


def test_sources_neutral_keeps_lines_and_indentation():
    text = "!pip install micrograd\n%matplotlib inline\nif True:\n    !ls\nx = 1\nValue?\n"
    out, n = sources.neutral(text)
    assert n == 4
    assert out.split("\n") == ["", "", "if True:", "    pass", "x = 1", "", ""]
    cell, n = sources.neutral("%%time\nx = 1\n")
    assert n == 3 and all(line.startswith("# ") for line in cell.split("\n"))


def test_sources_notebook_cells_and_units(tmp_path):
    path = notebook(tmp_path / "hw.ipynb", ["import math\nx = 1\n", "def f():\n    return 2\n"])
    src = sources.read(path)
    assert src.kind == "notebook"
    assert [(u.cell, u.line, u.kind) for u in src.units] == [
        (1, 1, sources.DEFINITION),
        (1, 2, sources.DEFINITION),
        (2, 1, sources.DEFINITION),
    ]
    assert src.units[0].filename == "hw.ipynb, cell 1"


@pytest.mark.parametrize(
    "marker",
    ["# In[1]:", "# In[ ]:", "# %%", "# %% [markdown]"],
    ids=["nbconvert", "blank", "percent", "md"],
)
def test_sources_exported_script_keeps_file_line_numbers(tmp_path, marker):
    text = f"#!/usr/bin/env python\n{marker}\n\nimport math\n\n{marker}\n\nx = math.pi\n"
    path = tmp_path / "export.py"
    path.write_text(text)
    src = sources.read(path)
    assert src.kind == "export"
    assert [u.line for u in src.units] == [4, 8]  # the lines of the file, not of the cell


def test_sources_syntax_error_in_one_cell_is_a_problem_not_the_end(tmp_path):
    path = notebook(tmp_path / "nb.ipynb", ["x = (\n", "y = 2\n"])
    src = sources.read(path)
    assert len(src.units) == 1 and "cell 1" in src.problems[0]


def test_sources_plain_file_with_syntax_error_raises_it(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def f(:\n")
    with pytest.raises(SyntaxError):
        sources.read(path)


def test_sources_classify():
    import ast

    kinds = [
        sources.classify(ast.parse(s).body[0])
        for s in (
            "import math",
            "X = 0.001",
            "Value.exp = exp",
            "Value.exp = make(1)",
            "a = Value(2.0)",
            "print(a)",
            "for i in range(3): pass",
        )
    ]
    assert kinds == ["definition"] * 4 + ["code"] * 3


# ---- loading -----------------------------------------------------------------------------------


def test_notebook_with_magics_failing_cell_and_endless_loop_is_checked(tmp_path):
    path = notebook(
        tmp_path / "micrograd_exercises.ipynb",
        [
            "!pip install micrograd\n%matplotlib inline\nimport math",
            LECTURE,
            "a = Value(2.0)\nb = a.sigmoid()  # not written yet\n",
            "while True:\n    pass\n",
            "print(Value(3.0) * 2)\n",
        ],
        colab=True,
    )
    start = time.monotonic()
    report = check(path)
    took = time.monotonic() - start
    assert took < 15, took
    assert report.source == "notebook" and report.load_error is None
    assert failing(report) == []
    assert report.passed > 60
    notes = " ".join(report.notes)
    assert "cell 3, line 2" in notes and "AttributeError" in notes
    assert "cell 4, line 1" in notes and "did not finish within" in notes


def test_notebook_traceback_names_the_cell(tmp_path):
    bad = LECTURE.replace(
        '        out = Value(self.data * other.data, (self, other), "*")',
        '        out = Value(self.data * other.data, (self, other), "*")\n        1 / 0',
    )
    assert bad != LECTURE
    path = notebook(tmp_path / "hw.ipynb", ["import math", bad])
    report = check(path)
    assert report.root_causes[0] == "mul"
    c = next(c for c in report.checks if c.status == "fail")
    assert 'File "hw.ipynb, cell 2", line' in c.traceback and "in __mul__" in c.traceback
    assert "ZeroDivisionError" in c.traceback
    assert "gradcli" not in c.traceback and "importlib" not in c.traceback


def test_colab_download_with_pip_lines_loads(tmp_path):
    path = tmp_path / "micrograd.py"
    path.write_text("# -*- coding: utf-8 -*-\n!pip install micrograd\n\n" + LECTURE)
    report = check(path)
    assert report.source == "python" and failing(report) == [] and report.passed > 60


def test_exported_txt_with_get_ipython_loads(tmp_path):
    path = tmp_path / "hw.txt"
    path.write_text(
        "#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\n"
        "get_ipython().system('pip install micrograd')\n"
        "get_ipython().run_line_magic('matplotlib', 'inline')\n\n\n# In[2]:\n\n\n" + LECTURE
    )
    report = check(path)
    assert report.source == "export" and failing(report) == [] and report.passed > 60


def test_top_level_training_loop_in_a_py_is_skipped_with_a_note(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(LECTURE + "\nimport time\nfor step in range(10**9):\n    time.sleep(0.01)\n")
    start = time.monotonic()
    report = check(path)
    assert time.monotonic() - start < 15
    assert failing(report) == [] and report.passed > 60
    assert any("did not finish within" in n for n in report.notes)


def test_top_level_exit_and_crash_are_skipped(tmp_path):
    path = tmp_path / "value.py"
    path.write_text(LECTURE + "\nimport os, sys\nsys.exit(0)\n")
    assert failing(check(path)) == []
    path.write_text(LECTURE + "\nimport os\nos._exit(3)\n")
    report = check(path)
    assert failing(report) == [] and report.passed > 60


def test_future_annotations_apply_to_later_units(tmp_path):
    path = tmp_path / "typed.py"
    typed = LECTURE.replace(
        "def __add__(self, other):", "def __add__(self, other: Value | float) -> Value:"
    )
    assert typed != LECTURE
    path.write_text("from __future__ import annotations\n" + typed)
    report = check(path)
    assert failing(report) == [] and report.passed > 60


def test_nothing_checkable_because_the_top_level_failed_is_a_load_error(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import math\nraise RuntimeError('at import')\n")
    report = check(path)
    assert report.status == "error" and "RuntimeError: at import" in (report.load_error or "")
    assert "broken.py" in report.load_traceback
