"""The learner's code as gradcli reads it: a file cut into units that load one at a time.

A source is a ``.py`` file, a notebook (``.ipynb``, Colab's too) or a script exported from one
(``.py``/``.txt`` with ``# In[ ]:`` or ``# %%`` markers). Each code cell (a plain ``.py`` is one
cell) is cut into its top-level statements, the **units**: the child runs them in document
order, so a unit that fails or hangs costs that unit only ("cell 12 raised NameError:
skipped"), never the whole file. IPython's own syntax (``!pip install``, ``%matplotlib``,
``%%time`` cells) is made neutral here, line numbers kept. Nothing here imports anything heavy:
the child imports this module.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: what a notebook export marks its cells with: nbconvert (``# In[3]:``), the percent format
#: (``# %%``, VS Code, jupytext, Spyder)
_CELL_MARK = re.compile(r"^#\s*(In\s*\[[\s\d*]*\]\s*:|%%)")

#: the suffixes gradcli reads
SUFFIXES = (".py", ".ipynb", ".txt")

#: a unit of this kind only defines things (imports, functions, classes, constants, patches)
DEFINITION = "definition"
#: a unit of this kind does something (prints, builds a graph, trains): run with a short limit
CODE = "code"


@dataclass
class Unit:
    """One top-level statement of one cell, ready to compile."""

    tree: ast.Module
    filename: str  # what tracebacks show: the real path, or "hw.ipynb, cell 7"
    cell: int | None  # the code cell's number (1 = the first code cell), None in a plain .py
    line: int  # the statement's first line, in the cell (a plain .py: in the file)
    kind: str  # DEFINITION or CODE
    text: str  # the statement's first line, for notes

    @property
    def where(self) -> str:
        return f"cell {self.cell}, line {self.line}" if self.cell else f"line {self.line}"


@dataclass
class Source:
    """A file read as cells and units, or the reason it could not be read."""

    path: Path
    kind: str  # "python", "notebook" or "export"
    units: list[Unit] = field(default_factory=list)
    lines: dict[str, list[str]] = field(default_factory=dict)  # filename -> its source lines
    problems: list[str] = field(default_factory=list)  # cells that do not parse, said in words

    @property
    def filenames(self) -> set[str]:
        return set(self.lines)


class SourceError(Exception):
    """The file cannot be read as Python or as a notebook; the message says why."""


def read(path: Path) -> Source:
    """Cut ``path`` into units. :class:`SourceError` when it is no Python and no notebook."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    text = raw.decode("utf-8", errors="replace")
    if path.suffix == ".ipynb" or text.lstrip().startswith("{"):
        cells = _notebook_cells(text, path.name)
        if cells is not None:
            return _build(path, "notebook", cells, per_cell=True)
        if path.suffix == ".ipynb":
            raise SourceError(f"{path.name} is not a notebook gradcli can read (not nbformat JSON)")
    text = text.lstrip("\ufeff")
    cells = _script_cells(text)
    if len(cells) > 1 or (cells and cells[0][0] > 1):
        return _build(path, "export", cells, per_cell=True)
    return _build(path, "python", [(1, text)], per_cell=False)


def _notebook_cells(text: str, name: str) -> list[tuple[int, str]] | None:
    """The code cells of an nbformat 4 (or 3) notebook, in the order saved; None if not one."""
    try:
        nb = json.loads(text)
    except ValueError:
        return None
    if not isinstance(nb, dict):
        return None
    cells: Any = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in nb["worksheets"] for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        return None
    out: list[tuple[int, str]] = []
    number = 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        src = cell.get("source", cell.get("input", ""))
        if isinstance(src, list):
            src = "".join(str(s) for s in src)
        out.append((number, str(src)))
    return out


def _script_cells(text: str) -> list[tuple[int, str]]:
    """An exported script cut at its cell markers: (the line the cell starts on, its text).
    Lines keep their numbers: the cell's text starts with blank lines for the ones before."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _CELL_MARK.match(line)]
    if not starts:
        return [(1, text)]
    bounds = [0, *starts, len(lines)] if starts[0] > 0 else [*starts, len(lines)]
    cells = []
    for a, b in itertools.pairwise(bounds):
        chunk = "".join(lines[a:b])
        if chunk.strip():
            cells.append((a + 1, "\n" * a + chunk))
    return cells


# ---- IPython syntax --------------------------------------------------------------------------

_MAGIC = re.compile(r"^(\s*)([!%]|\?\?|\?)(.*)$")
_HELP_SUFFIX = re.compile(r"^(\s*)[\w.]+\?\??\s*$")


def neutral(text: str) -> tuple[str, int]:
    """``text`` with IPython's shell escapes, magics and ``name?`` help made harmless, every line
    kept where it was (an indented ``!ls`` becomes ``pass``); a ``%%`` cell magic makes the
    whole cell a comment. Returns the text and how many lines were neutralised."""
    lines = text.split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    if first.lstrip().startswith("%%"):
        return "\n".join("# " + ln for ln in lines), len(lines)
    count = 0
    out = []
    continued = False
    for ln in lines:
        m = _MAGIC.match(ln)
        if not continued and (m is not None or _HELP_SUFFIX.match(ln)):
            indent = (m.group(1) if m else _HELP_SUFFIX.match(ln).group(1)) or ""  # type: ignore[union-attr]
            out.append(indent + "pass" if indent else "")
            count += 1
            continued = ln.rstrip().endswith("\\")
            continue
        continued = continued and ln.rstrip().endswith("\\")
        out.append(ln)
    return "\n".join(out), count


# ---- units -----------------------------------------------------------------------------------


def _build(path: Path, kind: str, cells: list[tuple[int, str]], per_cell: bool) -> Source:
    """Parse each cell and cut it into units; a cell that does not parse is a problem (a plain
    ``.py`` that does not parse is a :class:`SourceError`: nothing of it can run)."""
    src = Source(path, kind)
    if kind != "notebook":
        src.lines[str(path)] = path.read_text(encoding="utf-8", errors="replace").split("\n")
    for number, text in cells:
        cell = number if kind == "notebook" else None
        filename = f"{path.name}, cell {number}" if cell else str(path)
        body, _count = neutral(text)
        if cell:
            src.lines[filename] = body.split("\n")
        try:
            tree = ast.parse(body, filename=filename)
        except SyntaxError as exc:
            where = f"cell {number}, line {exc.lineno or 1}" if cell else f"line {exc.lineno or 1}"
            what = (exc.text or "").strip()
            said = f"{where}: a syntax error ({exc.msg}{': ' + what if what else ''})"
            if not per_cell:
                raise  # a plain .py that does not parse: the learner sees Python's own error
            src.problems.append(f"{said}: the cell was skipped")
            continue
        body_lines = body.split("\n")
        for stmt in tree.body:
            first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
            text_line = body_lines[first - 1].strip() if first <= len(body_lines) else ""
            mod = ast.Module(body=[stmt], type_ignores=[])
            src.units.append(Unit(mod, filename, cell, first, classify(stmt), text_line[:60]))
    return src


def classify(stmt: ast.stmt) -> str:
    """DEFINITION for what only defines (imports, def, class, constant or patch assignments,
    ``if __name__ == '__main__':``, which does not run on import); CODE for the rest."""
    if isinstance(
        stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    ):
        return DEFINITION
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        value = stmt.value
        if value is None or not any(isinstance(n, ast.Call) for n in ast.walk(value)):
            return DEFINITION
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        # Value.exp = make_exp() is still a patch of the class
        if all(isinstance(t, ast.Attribute) for t in targets):
            return DEFINITION
        return CODE
    if isinstance(stmt, ast.Try) and all(
        isinstance(s, (ast.Import, ast.ImportFrom, ast.Assign, ast.Pass, ast.Expr))
        for s in stmt.body
    ):
        return DEFINITION
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return DEFINITION  # a docstring
    return CODE
