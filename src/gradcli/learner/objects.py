"""Live objects from a notebook, on the child's side: read what :func:`gradcli.check` sent.

The file holds two pickles: a plain header (format version, folders for ``sys.path``, the source
lines of the notebook's cells for tracebacks) and then, written by cloudpickle, the roles: the
``Value`` class, ``softmax``, ``gradf``, ... Objects defined in the notebook travel by value;
objects imported from a module beside the notebook travel by reference, which is why the
kernel's working directory goes on ``sys.path`` before they are read.
"""

from __future__ import annotations

import contextlib
import linecache
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FunctionType, ModuleType
from typing import Any

#: the format of the file :func:`gradcli.learner.api.check` writes
VERSION = 1

#: the module name the roles are given in the child
MODULE = "__learner__"


def load_objects(path: Path) -> ModuleType:
    """A fresh module whose attributes are the roles (``Value`` under its own name as well)."""
    with open(path, "rb") as f:
        header = pickle.load(f)
        if not isinstance(header, dict) or header.get("version") != VERSION:
            raise ImportError(f"{path.name} was written by another version of gradcli")
        for folder in reversed(header.get("path", [])):
            if folder not in sys.path:
                sys.path.insert(0, folder)
        for filename, lines in header.get("sources", {}).items():
            linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
        roles: dict[str, Any] = pickle.load(f)
    codes = header.get("codes", {})
    for obj in roles.values():
        _rename(obj, codes)
    module = ModuleType(MODULE, "the objects gradcli.check() was given")
    module.__file__ = str(path)
    module.__dict__["__learner_files__"] = set(header.get("files", []))
    module.__dict__["__learner_folders__"] = list(header.get("path", []))
    for name, obj in roles.items():
        setattr(module, name, obj)
        if isinstance(obj, type) and name == "Value":
            setattr(module, obj.__name__, obj)
        # the worker takes what is defined in the module as the learner's own
        with contextlib.suppress(AttributeError, TypeError):
            obj.__module__ = MODULE
    sys.modules[MODULE] = module
    return module


def _renamed(code: CodeType, codes: dict[str, str]) -> CodeType:
    consts = tuple(_renamed(c, codes) if isinstance(c, CodeType) else c for c in code.co_consts)
    name = codes.get(f"{code.co_name}:{code.co_firstlineno}", code.co_filename)
    return code.replace(co_filename=name, co_consts=consts)


def _rename(obj: Any, codes: dict[str, str]) -> None:
    """Give the code of ``obj`` (a function, or each method of a class) its cell's file name."""
    if not codes:
        return
    items = list(vars(obj).values()) if isinstance(obj, type) else [obj]
    for item in items:
        for fn in (item, getattr(item, "__func__", None), getattr(item, "fget", None)):
            if isinstance(fn, FunctionType):
                with contextlib.suppress(AttributeError, TypeError, ValueError):
                    fn.__code__ = _renamed(fn.__code__, codes)


def mine(module: ModuleType, fallback: Callable[[str], bool]) -> Callable[[str], bool]:
    """Which traceback frames are the learner's: the notebook's cells (and modules beside it)."""
    files = module.__dict__.get("__learner_files__", set())
    folders = {str(Path(p).resolve()) for p in module.__dict__.get("__learner_folders__", [])}

    def is_mine(filename: str) -> bool:
        if filename in files:
            return True
        try:
            if str(Path(filename).resolve().parent) in folders and "gradcli" not in filename:
                return True
        except (OSError, ValueError):
            pass
        return fallback(filename)

    return is_mine
