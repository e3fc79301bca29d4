"""Golden output of ``gradcli check``: a learner's notebook with one wrong rule, read cell by cell
(a magic, a failing cell, the class under another name), at 100 columns without colour. After an
intended change: ``GRADCLI_UPDATE_GOLDENS=1 pytest tests/test_check_golden.py``, then read the
diff. The traceback is run from the learner's own folder, as they would run it."""

from __future__ import annotations

import json
import os
from pathlib import Path

GOLDENS = Path(__file__).parent / "goldens"
LECTURE = (Path(__file__).parent / "learner_corpus" / "lecture_value.py").read_text()

# the lecture's class as Node, with d(a*b)/da using a where b belongs
NODE = (
    LECTURE.replace("Value", "Node")
    .replace("self.grad += other.data * out.grad", "self.grad += self.data * out.grad")
    .replace('        raise NotImplementedError("not in this file")\n', "")
)


def _notebook(path: Path) -> None:
    cells = ["%matplotlib inline\nimport math", NODE, "n = Node(2.0)\nn.sigmoid()\n"]
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"colab": {"provenance": []}},
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "source": c,
                "execution_count": None,
            }
            for c in cells
        ],
    }
    path.write_text(json.dumps(nb))


def test_golden_check_notebook(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    _notebook(tmp_path / "hw.ipynb")
    r = cli("check", "hw.ipynb", "--no-torch")
    assert r.code == 1, r.stderr
    out = "\n".join(line.rstrip() for line in r.stdout.splitlines()).strip("\n") + "\n"
    path = GOLDENS / "check_notebook.txt"
    if os.environ.get("GRADCLI_UPDATE_GOLDENS"):
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")
    # what the golden must say, checked by hand: the names found, the one cause, the cell
    assert "Node: the lecture's names" in out
    assert "expected b = -3.0, got a = 2.0" in out  # d(a*b)/da at a=2, b=-3
    assert "to fix (1)" in out and "  mul  " in out
    assert "cell 3, line 2 (n.sigmoid()) raised AttributeError" in out
