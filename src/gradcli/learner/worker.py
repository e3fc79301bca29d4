"""The child process: load the learner's file, then answer the parent's probes.

Run as ``python -m gradcli.learner.worker FILE [--class NAME]``. The parent writes one JSON
request per line to this process's standard input and reads JSON lines from its standard output.
Before the learner's file is loaded, both are moved to private file descriptors and fds 0, 1 and
2 are pointed at the null device, and ``sys.stdin``/``stdout``/``stderr`` are replaced: whatever
the learner's code prints (a flood, even from C) or reads cannot reach or block the protocol.

Messages to the parent: ``{"hello": {...}}`` or ``{"load_error": {...}}`` once, then per request
``{"id": n, "phase": p}`` as each part starts and ``{"id": n, "ok": {...}}`` or
``{"id": n, "error": {...}}``.
"""

from __future__ import annotations

import ast
import io
import json
import linecache
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from gradcli.learner import probes, tensor_probe
from gradcli.learner.programs import FEATURES, FUNCTION_NAMES, UNARY_METHODS

#: characters of the learner's printed output kept per request (the rest is counted)
KEEP_PRINTED = 4000

#: the child's memory limit in MiB (Linux): a runaway list becomes a MemoryError in that check,
#: not a machine that swaps. ``GRADCLI_CHECK_MEMORY_MB`` changes it.
MEMORY_MB = 2048


class Sink(io.TextIOBase):
    """Where the learner's prints go: the first few thousand characters are kept, the rest
    only counted, so a flood of prints costs time but no memory and never blocks."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.size = 0
        self.count = 0

    def write(self, s: str) -> int:
        n = len(s)
        if self.size < KEEP_PRINTED:
            self.kept.append(s[: KEEP_PRINTED - self.size])
            self.size += min(n, KEEP_PRINTED - self.size)
        self.count += n
        return n

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1  # the null device, after setup

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def take(self) -> tuple[str, int]:
        text, count = "".join(self.kept), self.count
        self.kept, self.size, self.count = [], 0, 0
        return text, count


#: gradcli's own package: never the learner's code, wherever the learner's folder is
_GRADCLI = Path(__file__).resolve().parents[1]


class UnitTimeout(BaseException):
    """A top-level unit of the learner's file ran past its limit (raised by the alarm)."""


#: seconds a top-level unit may run while the file loads: a definition (an import of torch may
#: take a few), and anything else (demo prints, plots, a training loop: not needed to check)
DEFINITION_LIMIT = 20.0
CODE_LIMIT = 2.0

#: seconds one call of the learner's class may take while gradcli finds its names
ADAPTER_LIMIT = 2.0


class Worker:
    def __init__(
        self,
        path: Path,
        class_name: str | None,
        out: TextIO,
        sink: Sink,
        given: dict[str, str] | None = None,
        skip: set[int] | None = None,
        limit: float = ADAPTER_LIMIT,
    ) -> None:
        self.path = path
        self.limit = min(limit, ADAPTER_LIMIT)
        self.dir = path.parent
        self.class_name = class_name
        self.given = given or {}
        self.skip = skip or set()
        self.out = out
        self.sink = sink
        self.module: ModuleType | None = None
        self.value_class: Any = None  # the class checked as the learner's Value
        self.adapter: Any = None  # how to work it (gradcli.learner.adapter.Adapter)
        self.function_adapter: Any = None  # the Value class softmax and nll are given, adapted
        self.filenames: set[str] = {str(path)}
        self.request = 0

    # ---- messages ------------------------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        self.out.write(json.dumps(msg) + "\n")
        self.out.flush()

    def phase(self, name: str, **known: Any) -> None:
        """Tell the parent what runs now, and what is known so far (kept if it fails)."""
        msg: dict[str, Any] = {"id": self.request, "phase": name}
        if known:
            msg["known"] = known
        self.send(msg)

    # ---- loading -------------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        """Run the file unit by unit (see :mod:`gradcli.learner.sources`): definitions always,
        other top-level code with a short time limit; a unit that fails or hangs is a note."""
        from gradcli.learner import sources

        if self.path.suffix == ".pkl":  # live objects sent by gradcli.check(): objects.py
            from gradcli.learner import objects

            module = objects.load_objects(self.path)
            self.module = module
            self.filenames |= set(module.__dict__.get("__learner_files__", set()))
            self.mine = objects.mine(module, self.mine)  # type: ignore[method-assign, assignment]
            probes.set_mine(self.mine)
            self.send({"loading": -1})
            return {**self.inventory(module), "units": [], "source": {"kind": "objects"}}
        src = sources.read(self.path)
        self.filenames = src.filenames | {str(self.path)}
        for filename, lines in src.lines.items():
            if filename != str(self.path):  # a notebook's cells: tracebacks show their lines
                text = [ln + "\n" for ln in lines]
                linecache.cache[filename] = (sum(map(len, text)), None, text, filename)
        stem = self.path.stem
        name = stem if stem.isidentifier() and stem not in sys.modules else "__learner__"
        module = ModuleType(name)
        module.__file__ = str(self.path)
        module.__dict__["get_ipython"] = _FakeIPython.get
        module.__dict__.setdefault("display", _ignore)
        sys.modules[name] = module
        self.module = module
        failed = self.run_units(src, module)
        probes.set_mine(self.mine)
        self.send({"loading": -1})  # looking at the class: a crash here is no unit's
        info = self.inventory(module)
        info["units"] = failed
        info["problems"] = src.problems
        info["source"] = {"kind": src.kind, "units": len(src.units)}
        return info

    def run_units(self, src: Any, module: ModuleType) -> list[dict[str, Any]]:
        """Run each unit in document order; what did not run, and why, one entry each."""
        import __future__

        from gradcli.learner.sources import DEFINITION

        failed: list[dict[str, Any]] = []
        flags = 0
        for i, unit in enumerate(src.units):
            said = {"unit": i, "where": unit.where, "cell": unit.cell, "text": unit.text}
            if i in self.skip:  # it ended the process when first loaded
                failed.append({**said, "kind": "skipped"})
                continue
            stmt = unit.tree.body[0]
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                for alias in stmt.names:  # later units compile with it, as one file would
                    feature = getattr(__future__, alias.name, None)
                    flags |= feature.compiler_flag if feature is not None else 0
            limit = DEFINITION_LIMIT if unit.kind == DEFINITION else CODE_LIMIT
            self.send({"loading": i})
            try:
                code = compile(unit.tree, unit.filename, "exec", flags=flags, dont_inherit=True)
                with _alarm(limit):
                    exec(code, module.__dict__)
            except UnitTimeout:
                failed.append({**said, "kind": "timeout", "limit": limit})
            except BaseException as exc:  # the learner's top level may raise anything
                failed.append({**said, "kind": "error", "error": self.describe(exc)})
        return failed

    def inventory(self, module: ModuleType) -> dict[str, Any]:
        from gradcli.learner import adapter as ad

        info: dict[str, Any] = {"module": module.__name__, "value_class": None}
        cls, notes = ad.find_class(module, self.filenames, self.class_name, self.beside)
        info["class_notes"] = notes
        if self.class_name is not None and cls is None:
            found = sorted(k for k, v in vars(module).items() if isinstance(v, type))
            return {"missing_class": self.class_name, "classes": found}
        functions = [
            n
            for n in FUNCTION_NAMES
            if callable(getattr(module, n, None)) and self._defined_here(getattr(module, n))
        ]
        imported = (
            cls is not None
            and self.class_name is None
            and not _written_here(cls, module, self.filenames)
        )
        served = None
        if imported and functions:
            # softmax.py importing value.py: the class is value.py's to check; here it only
            # serves the functions (a fault in it is said as such)
            served, cls = cls, None
        if cls is not None:
            self.value_class = cls
            try:
                self.adapter = ad.resolve(cls, self.given, lambda: _alarm(self.limit))
            except BaseException as exc:  # the learner's constructor failed
                info["value_class"] = {
                    "name": cls.__name__,
                    "error": self.describe(exc),
                    "defined_in": _source_name(cls),
                }
                self.adapter = None
            else:
                A = self.adapter
                info["value_class"] = {
                    "name": cls.__name__,
                    "adapter": A.describe(),
                    "features": sorted(f for f, attr in FEATURES.items() if _has(cls, attr)),
                    "methods": sorted(m for m in UNARY_METHODS if _has(cls, m)),
                    "defined_in": _source_name(cls),
                    "own": sorted(_own_methods(cls, self.filenames)),
                }
        candidate = self.value_class or served
        if candidate is None:
            other = getattr(module, "Value", None)
            candidate = other if isinstance(other, type) else None
        if isinstance(candidate, type):
            try:
                self.function_adapter = (
                    self.adapter
                    if candidate is self.value_class
                    else ad.resolve(candidate, None, lambda: _alarm(self.limit))
                )
            except BaseException:
                self.function_adapter = None
        if self.function_adapter is not None and isinstance(candidate, type):
            info["function_value"] = {"name": candidate.__name__, "from": _source_name(candidate)}
        else:
            from gradcli.engine import Value

            self.function_adapter = ad.default(Value)
            info["function_value"] = None
        info["functions"] = functions
        info["tensor_functions"] = tensor_probe.find_functions(module)  # issue 19
        return info

    def _defined_here(self, fn: Any) -> bool:
        code = getattr(fn, "__code__", None)
        if code is not None and code.co_filename in self.filenames:
            return True
        return getattr(fn, "__module__", None) == getattr(self.module, "__name__", None)

    # ---- requests ------------------------------------------------------------------------------
    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        kind = req["kind"]
        assert self.module is not None
        if kind == "tensor_function":  # issue 19: torch.autograd.Function subclasses
            return tensor_probe.run(self.module, req, self.phase)
        if kind == "program":
            return probes.run_program(
                self.adapter, req["program"], req["point"], req["mode"], self.phase
            )
        A = self._function_adapter(req.get("value", "file"))
        fn = getattr(self.module, req.get("name", ""), None)
        if kind == "fd":
            return probes.run_fd(fn, req["f"], req["x"], req["hs"], self.phase)
        if kind == "gradf":
            return probes.run_gradf(fn, req["point"], self.phase)
        if kind == "softmax":
            return probes.run_softmax(fn, A, req["logits"], self.phase)
        if kind == "softmax_grad":
            nll = getattr(self.module, "nll", None) if req.get("use_nll") else None
            return probes.run_softmax_grad(
                self.module.softmax, nll, A, req["logits"], req["target"], self.phase
            )
        if kind == "nll":
            return probes.run_nll(fn, A, req["probs"], req["target"], self.phase)
        raise ValueError(f"unknown request {kind!r}")

    def _function_adapter(self, which: str) -> Any:
        if which == "gradcli":
            from gradcli.engine import Value
            from gradcli.learner.adapter import default

            return default(Value)
        return self.function_adapter

    def serve(self, requests: TextIO) -> None:
        for line in requests:
            req = json.loads(line)
            self.request = req["id"]
            self.sink.take()
            try:
                result = self.handle(req)
            except BaseException as exc:  # the learner's code may raise anything, even SystemExit
                self.send({"id": self.request, "error": self.describe(exc), **self.printed()})
            else:
                self.send({"id": self.request, "ok": result, **self.printed()})

    def printed(self) -> dict[str, Any]:
        text, count = self.sink.take()
        return {"printed": count, "output": text[-400:]} if count else {}

    # ---- errors --------------------------------------------------------------------------------
    def frames(self, exc: BaseException) -> list[tuple[traceback.FrameSummary, str]]:
        """The traceback's frames in the learner's code (its file, its notebook's cells, the
        files beside it), each with its function's qualified name: the first six and the last
        six of a deep recursion (their source lines are read for those only)."""
        mine: dict[str, bool] = {}
        picked = []
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            name = frame.f_code.co_filename
            if name not in mine:
                mine[name] = self.mine(name)
            if mine[name]:
                q = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
                picked.append((name, lineno, frame.f_code.co_name, q))
        if len(picked) > 12:
            picked = picked[:6] + picked[-6:]
        return [
            (
                traceback.FrameSummary(
                    _display(name), lineno, fn, line=linecache.getline(name, lineno).strip()
                ),
                q,
            )
            for name, lineno, fn, q in picked
        ]

    def _recursing(self, exc: BaseException, cls_name: str) -> str | None:
        """The learner's method that appears most often in a RecursionError's traceback."""
        counts: dict[str, int] = {}
        for frame, _lineno in traceback.walk_tb(exc.__traceback__):
            code = frame.f_code
            if self.mine(code.co_filename):
                name = probes.method_of(getattr(code, "co_qualname", code.co_name), cls_name)
                counts[name] = counts.get(name, 0) + 1
        return max(counts, key=lambda k: counts[k]) if counts else None

    def beside(self, filename: str) -> bool:
        """Is this file the learner's own module (in their folder or below it, as a package of
        theirs), not an installed one?"""
        try:
            p = Path(filename).resolve()
            p.relative_to(self.dir)
        except (OSError, ValueError):
            return False
        return "site-packages" not in p.parts and not p.is_relative_to(_GRADCLI)

    def mine(self, filename: str) -> bool:
        """Is this frame the learner's code (their file or cells, or a file beside them)?"""
        if filename in self.filenames:
            return True
        if filename.startswith("<"):
            return False
        return self.beside(filename)

    def describe(self, exc: BaseException) -> dict[str, Any]:
        """The exception as the learner should see it: only the frames of their own code, and
        the learner's method whose frame raised it (what it is blamed on)."""
        pairs = self.frames(exc)
        frames = [f for f, _q in pairs]
        text = ""
        if frames:
            text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
        if isinstance(exc, SyntaxError) and exc.filename and self.mine(exc.filename):
            exc.filename = _display(exc.filename)
        if isinstance(exc, probes.ProbeError):  # gradcli's own question, not a Python error
            text += str(exc) + "\n"
        else:
            text += "".join(traceback.format_exception_only(type(exc), exc))
        where = None
        method = None
        if frames:
            last = frames[-1]
            where = {
                "file": _short(last.filename),
                "line": last.lineno,
                "function": last.name,
                "code": (last.line or "").strip(),
            }
            cls_name = self.value_class.__name__ if self.value_class is not None else ""
            method = probes.method_of(pairs[-1][1], cls_name)
            if isinstance(exc, RecursionError):  # the function that recursed, not the last one
                method = self._recursing(exc, cls_name) or method
        elif isinstance(exc, SyntaxError) and exc.lineno:
            where = {
                "file": _short(exc.filename or ""),
                "line": exc.lineno,
                "function": "",
                "code": (exc.text or "").strip(),
            }
        info: dict[str, Any] = {
            "type": type(exc).__name__,
            "message": _clip(str(exc), 300),
            "traceback": _clip(text, 3000),
            "where": where,
            "method": method,
            "ours": isinstance(exc, probes.ProbeError),
        }
        if isinstance(exc, probes.InputChanged):
            info["changed"] = [exc.leaf, exc.attr]
            info["calls"] = exc.calls
        if isinstance(exc, SystemExit):
            info["exit_code"] = exc.code if isinstance(exc.code, int) else str(exc.code)
        return info


class _FakeIPython:
    """What ``get_ipython()`` gives a notebook's exported code here: every call does nothing."""

    _one: _FakeIPython | None = None

    @classmethod
    def get(cls) -> _FakeIPython:
        if cls._one is None:
            cls._one = cls()
        return cls._one

    def __getattr__(self, name: str) -> Any:
        return _ignore


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


class _alarm:
    """Raise :class:`UnitTimeout` in this thread after ``seconds`` (Unix; elsewhere no limit)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.old: Any = None

    def __enter__(self) -> None:
        import signal

        if not hasattr(signal, "setitimer"):
            return

        def fire(signum: int, frame: Any) -> None:
            raise UnitTimeout

        self.old = signal.signal(signal.SIGALRM, fire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        import signal

        if not hasattr(signal, "setitimer"):
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old or signal.SIG_DFL)


def _written_here(cls: type, module: ModuleType, filenames: set[str]) -> bool:
    """Is ``cls`` defined (or patched) in the file being checked, not imported from another?"""
    return getattr(cls, "__module__", None) == module.__name__ or bool(_own_methods(cls, filenames))


def _own_methods(cls: type, filenames: set[str]) -> list[str]:
    """The methods the learner's code wrote on ``cls`` (its own and patched-in ones)."""
    out = []
    for k in cls.__mro__:
        for name, attr in vars(k).items():
            fn = getattr(attr, "__func__", attr)
            code = getattr(fn, "__code__", None)
            if code is not None and code.co_filename in filenames and name not in out:
                out.append(name)
    return out


def _short(filename: str) -> str:
    return filename if ", cell " in filename else Path(filename).name


def _display(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _has(cls: type, attr: str) -> bool:
    return callable(getattr(cls, attr, None))


def _source_name(obj: Any) -> str:
    mod = sys.modules.get(getattr(obj, "__module__", ""), None)
    path = getattr(mod, "__file__", None)
    return Path(path).name if path else str(getattr(obj, "__module__", ""))


def _private_streams() -> tuple[TextIO, TextIO]:
    """Move the protocol off fds 0 and 1 and point 0, 1, 2 at the null device."""
    proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return proto_in, proto_out


def _limit_memory() -> None:
    if not sys.platform.startswith("linux"):
        return
    import resource

    try:
        mb = int(os.environ.get("GRADCLI_CHECK_MEMORY_MB", MEMORY_MB))
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        want = mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or soft > want:
            resource.setrlimit(resource.RLIMIT_DATA, (want, hard))
    except (ValueError, OSError):
        pass


def _watch_parent() -> None:
    """End this process when the parent is gone (killed, say), even in the middle of the
    learner's endless loop: nobody is left to stop it."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    class_name = None
    if "--class" in args:
        i = args.index("--class")
        class_name = args[i + 1]
        del args[i : i + 2]
    given: dict[str, str] = {}
    skip: set[int] = set()
    if "--adapter" in args:
        i = args.index("--adapter")
        given = json.loads(args[i + 1])
        del args[i : i + 2]
    limit = ADAPTER_LIMIT
    if "--timeout" in args:
        i = args.index("--timeout")
        limit = float(args[i + 1])
        del args[i : i + 2]
    if "--skip" in args:
        i = args.index("--skip")
        skip = {int(x) for x in args[i + 1].split(",") if x}
        del args[i : i + 2]
    path = Path(args[0]).resolve()
    proto_in, proto_out = _private_streams()
    _limit_memory()
    if os.name == "posix":
        _watch_parent()
    sink = Sink()
    sys.stdout = sys.stderr = sink
    sys.stdin = io.StringIO("")
    sys.argv = [str(path)]
    # as `python FILE` does: the file's folder first on the path (not the current directory)
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", cwd)]
    sys.path.insert(0, str(path.parent))
    worker = Worker(path, class_name, proto_out, sink, given, skip, limit)
    try:
        hello = worker.load()
    except BaseException as exc:
        worker.send({"load_error": worker.describe(exc), **worker.printed()})
        return
    worker.send({"hello": hello, **worker.printed()})
    worker.serve(proto_in)


if __name__ == "__main__":
    main()
