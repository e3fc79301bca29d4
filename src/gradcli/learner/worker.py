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

import importlib.util
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
MEMORY_MB = 4096


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


class Worker:
    def __init__(self, path: Path, class_name: str | None, out: TextIO, sink: Sink) -> None:
        self.path = path
        self.dir = path.parent
        self.class_name = class_name
        self.out = out
        self.sink = sink
        self.module: ModuleType | None = None
        self.value_class: Any = None  # the class checked as the learner's Value
        self.function_value: Any = None  # the Value class softmax and nll are given
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
        stem = self.path.stem
        name = stem if stem.isidentifier() and stem not in sys.modules else "__learner__"
        spec = importlib.util.spec_from_file_location(name, self.path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {self.path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        self.module = module
        return self.inventory(module)

    def inventory(self, module: ModuleType) -> dict[str, Any]:
        info: dict[str, Any] = {"module": module.__name__, "value_class": None}
        if self.class_name is not None:
            cls = getattr(module, self.class_name, None)
            if not isinstance(cls, type):
                found = sorted(k for k, v in vars(module).items() if isinstance(v, type))
                return {"missing_class": self.class_name, "classes": found}
            self.value_class = cls
        else:
            cls = getattr(module, "Value", None)
            if isinstance(cls, type) and _defined_in(cls, module):
                self.value_class = cls
        if self.value_class is not None:
            cls = self.value_class
            info["value_class"] = {
                "name": cls.__name__,
                "features": sorted(f for f, attr in FEATURES.items() if _has(cls, attr)),
                "methods": sorted(m for m in UNARY_METHODS if _has(cls, m)),
                "defined_in": _source_name(cls),
            }
        candidate = self.value_class or getattr(module, "Value", None)
        if isinstance(candidate, type):
            self.function_value = candidate
            info["function_value"] = {"name": candidate.__name__, "from": _source_name(candidate)}
        else:
            from gradcli.engine import Value

            self.function_value = Value
            info["function_value"] = None
        info["functions"] = [
            n
            for n in FUNCTION_NAMES
            if callable(getattr(module, n, None)) and _defined_in(getattr(module, n), module)
        ]
        info["tensor_functions"] = tensor_probe.find_functions(module)  # issue 19
        return info

    # ---- requests ------------------------------------------------------------------------------
    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        kind = req["kind"]
        assert self.module is not None
        if kind == "tensor_function":  # issue 19: torch.autograd.Function subclasses
            return tensor_probe.run(self.module, req, self.phase)
        if kind == "program":
            return probes.run_program(
                self.value_class, req["program"], req["point"], req["mode"], self.phase
            )
        V = self._function_value(req.get("value", "file"))
        fn = getattr(self.module, req.get("name", ""), None)
        if kind == "fd":
            return probes.run_fd(fn, req["f"], req["x"], req["hs"], self.phase)
        if kind == "gradf":
            return probes.run_gradf(fn, req["point"], self.phase)
        if kind == "softmax":
            return probes.run_softmax(fn, V, req["logits"], self.phase)
        if kind == "softmax_grad":
            nll = getattr(self.module, "nll", None) if req.get("use_nll") else None
            return probes.run_softmax_grad(
                self.module.softmax, nll, V, req["logits"], req["target"], self.phase
            )
        if kind == "nll":
            return probes.run_nll(fn, V, req["probs"], req["target"], self.phase)
        raise ValueError(f"unknown request {kind!r}")

    def _function_value(self, which: str) -> Any:
        if which == "gradcli":
            from gradcli.engine import Value

            return Value
        return self.function_value

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
    def frames(self, exc: BaseException) -> list[traceback.FrameSummary]:
        """The traceback's frames in the learner's files: the first six and the last six of a
        deep recursion (their source lines are read for those only)."""
        mine: dict[str, bool] = {}
        picked = []
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            name = frame.f_code.co_filename
            if name not in mine:
                mine[name] = self.mine(name)
            if mine[name]:
                picked.append((name, lineno, frame.f_code.co_name))
        if len(picked) > 12:
            picked = picked[:6] + picked[-6:]
        return [
            traceback.FrameSummary(
                _display(name), lineno, fn, line=linecache.getline(name, lineno).strip()
            )
            for name, lineno, fn in picked
        ]

    def mine(self, filename: str) -> bool:
        """Is this frame the learner's code (their file, or another file beside it)?"""
        try:
            return Path(filename).resolve().parent == self.dir
        except (OSError, ValueError):
            return False

    def describe(self, exc: BaseException) -> dict[str, Any]:
        """The exception as the learner should see it: only the frames of their own files."""
        frames = self.frames(exc)
        text = ""
        if frames:
            text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
        if isinstance(exc, SyntaxError) and exc.filename and self.mine(exc.filename):
            exc.filename = _display(exc.filename)
        text += "".join(traceback.format_exception_only(type(exc), exc))
        where = None
        if frames:
            last = frames[-1]
            where = {
                "file": Path(last.filename).name,
                "line": last.lineno,
                "function": last.name,
                "code": (last.line or "").strip(),
            }
        elif isinstance(exc, SyntaxError) and exc.lineno:
            where = {
                "file": Path(exc.filename or "").name,
                "line": exc.lineno,
                "function": "",
                "code": (exc.text or "").strip(),
            }
        info: dict[str, Any] = {
            "type": type(exc).__name__,
            "message": _clip(str(exc), 300),
            "traceback": _clip(text, 3000),
            "where": where,
            "ours": isinstance(exc, probes.ProbeError),
        }
        if isinstance(exc, SystemExit):
            info["exit_code"] = exc.code if isinstance(exc.code, int) else str(exc.code)
        return info


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


def _defined_in(obj: Any, module: ModuleType) -> bool:
    return getattr(obj, "__module__", None) == module.__name__


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
    worker = Worker(path, class_name, proto_out, sink)
    try:
        hello = worker.load()
    except BaseException as exc:
        worker.send({"load_error": worker.describe(exc), **worker.printed()})
        return
    worker.send({"hello": hello, **worker.printed()})
    worker.serve(proto_in)


if __name__ == "__main__":
    main()
