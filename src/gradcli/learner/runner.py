"""Run the learner's file in a child process and ask it questions, with a time limit on each.

:class:`Session` starts ``python -m gradcli.learner.worker FILE`` and sends it one request at a
time. Whatever the learner's code does, gradcli goes on: an infinite loop is stopped after the
time limit, a ``sys.exit`` or an exception comes back as an error, a crash (``os._exit``, a
segfault) ends the child and a fresh one is started for the next request. What hung or crashed is
remembered by the part that was running (``backward``, an op's forward pass, ...): later
requests that need that part are answered "not run" at once, so each part is waited for once,
and after :data:`MAX_HANGS` waits nothing more is run at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gradcli.learner import sandbox

#: default seconds a request may take (``--timeout``)
DEFAULT_TIMEOUT = 10.0

#: after this many requests ran out of time, nothing more is run
MAX_HANGS = 3

#: default seconds for all the checks of one file together (``--budget``)
DEFAULT_BUDGET = 60.0

#: a file whose top level kills the child is loaded again at most this often, skipping the unit
MAX_LOAD_RESTARTS = 3


@dataclass
class Outcome:
    """What one request came back with.

    ``status``: ``"ok"`` (``result`` holds the numbers), ``"error"`` (the learner's code raised:
    ``error``), ``"timeout"``, ``"crash"`` or ``"not_run"`` (``reason`` says why in words).
    """

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    reason: str = ""
    phase: str = ""
    printed: int = 0
    part: str = ""  # not_run: the part that hung or crashed earlier ("backward", "forward:mul")
    known: dict[str, Any] = field(default_factory=dict)  # what the child said before it failed
    times: dict[str, float] = field(default_factory=dict)  # seconds in each phase

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class LoadError(Exception):
    """The learner's file could not be loaded; ``info`` describes the error as the worker saw
    it (type, message, trimmed traceback), or ``reason`` says what happened to the process."""

    def __init__(self, info: dict[str, Any] | None, reason: str = "") -> None:
        super().__init__(reason or (info or {}).get("message", ""))
        self.info = info
        self.reason = reason


def child_env() -> dict[str, str]:
    """The child's environment: this gradcli importable, no GUI windows, no debugger prompts,
    no __pycache__ written into the learner's folder."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["MPLBACKEND"] = "Agg"
    env["PYTHONBREAKPOINT"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONSTARTUP", None)
    return env


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def describe_exit(code: int | None) -> str:
    """How the child ended, in words."""
    if code is None:
        return "the process stopped answering"
    if code < 0:
        name = _signal_name(code)
        what = {"SIGSEGV": " (a segmentation fault)", "SIGABRT": " (an abort)"}.get(name, "")
        return f"the process crashed with {name}{what}"
    return f"the process exited with code {code} (os._exit, or a crash)"


class _Child:
    """One worker process and the thread that reads its messages."""

    def __init__(
        self,
        path: Path,
        class_name: str | None,
        given: Mapping[str, str] | None = None,
        skip: Iterable[int] = (),
        timeout: float | None = None,
    ) -> None:
        cmd = [sys.executable, "-m", "gradcli.learner.worker", str(path.resolve())]
        if timeout is not None:
            cmd += ["--timeout", repr(float(timeout))]
        if class_name:
            cmd += ["--class", class_name]
        if given:
            cmd += ["--adapter", json.dumps(dict(given))]
        skip = sorted(skip)
        if skip:
            cmd += ["--skip", ",".join(map(str, skip))]
        # scratch folder, limits, stand-in parent or bwrap: gradcli.learner.sandbox
        self.launch = sandbox.launch(cmd, path, child_env())
        self.proc = subprocess.Popen(
            self.launch.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            **self.launch.kwargs(),
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            try:
                self.messages.put(json.loads(line))
            except ValueError:
                self.messages.put({"bad": line[:200].decode("utf-8", "replace")})
        self.messages.put(None)

    def send(self, msg: dict[str, Any]) -> bool:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def get(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None when the child is gone; :class:`TimeoutError` when the
        deadline passes first."""
        wait = deadline - time.monotonic()
        try:
            if wait <= 0:
                raise queue.Empty
            return self.messages.get(timeout=wait)
        except queue.Empty:
            raise TimeoutError from None

    def exit_code(self) -> int | None:
        try:
            return self.launch.exit_code(self.proc.wait(timeout=2))
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                if os.name == "posix":
                    os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    self.proc.kill()
            except (ProcessLookupError, PermissionError, OSError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.launch.finish(self.proc.pid)  # what it forked, even after its parent died
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class Session:
    """The learner's file, loaded in a child process, answering one request at a time."""

    def __init__(
        self,
        path: Path,
        class_name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        given: Mapping[str, str] | None = None,
        budget: float = DEFAULT_BUDGET,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.class_name = class_name
        self.timeout = timeout
        self.given = dict(given or {})
        self.budget = budget
        self.progress = progress
        self.started = time.monotonic()
        self.skip: set[int] = set()  # units that failed the first load: skipped on a restart
        self.skip_reasons: dict[int, str] = {}  # unit -> how it ended the process
        self.child: _Child | None = None
        self.stopped: dict[str, str] = {}  # part -> why checks that need it are not run
        self.hangs = 0
        self.printed = 0
        self.next_id = 0
        self.hello: dict[str, Any] = {}

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> dict[str, Any]:
        """Start the child and load the file; its inventory, or :class:`LoadError`.

        The child runs the file unit by unit and says which unit it starts; one that kills the
        process (``os._exit``, a crash) or never gives control back is skipped on a restart
        (at most :data:`MAX_LOAD_RESTARTS`), and said in :attr:`load_notes`."""
        from gradcli.learner.worker import DEFINITION_LIMIT

        for _attempt in range(MAX_LOAD_RESTARTS + 1):
            self.child = _Child(self.path, self.class_name, self.given, self.skip, self.timeout)
            unit: int | None = None
            while True:
                deadline = time.monotonic() + max(self.timeout, DEFINITION_LIMIT + 5)
                try:
                    msg = self.child.get(deadline)
                except TimeoutError:
                    msg = {"stuck": True}
                if msg is not None and "loading" in msg:
                    unit = int(msg["loading"])
                    continue
                break
            if msg is not None and ("hello" in msg or "load_error" in msg):
                break
            code = None if msg is not None else self.child.exit_code()
            self.child.kill()
            self.child = None
            what = "never gave control back" if msg is not None else describe_exit(code)
            if unit == -1:
                raise LoadError(
                    None, f"{what} while gradcli looked at the class (Value(2.0), a + b)"
                )
            if unit is None or unit in self.skip:
                raise LoadError(None, f"{what} while the file was loading")
            self.skip.add(unit)
            self.skip_reasons[unit] = what
        else:
            raise LoadError(None, "the file could not be loaded: its top level kept failing")
        self.printed += int(msg.get("printed", 0))
        if "load_error" in msg:
            self.child.kill()
            self.child = None
            raise LoadError(msg["load_error"])
        self.hello = msg["hello"]
        for u in self.hello.get("units", []):
            if u.get("kind") in ("error", "timeout"):
                self.skip.add(int(u["unit"]))
        return self.hello

    def close(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child = None

    def blocked(self, needs: Iterable[str]) -> tuple[str, str] | None:
        """The part (and why) that keeps a request needing these parts from running."""
        if "*" in self.stopped:
            return "*", self.stopped["*"]
        for part in needs:
            if part in self.stopped:
                return part, self.stopped[part]
        return None

    def call(
        self,
        request: dict[str, Any],
        needs: Iterable[str] = (),
        parts: Mapping[str, str] | None = None,
        label: str = "",
    ) -> Outcome:
        """Send one request and wait for its answer, at most ``timeout`` seconds.

        ``needs``: the parts this request runs (it is not run when one of them hung before);
        ``parts``: which part each phase of the request belongs to, so that a hang or a crash
        in that phase stops that part; ``label``: the check, as the reasons name it.
        """
        needs = list(needs)
        if self.budget and time.monotonic() - self.started > self.budget:
            self.stopped.setdefault(
                "*",
                f"not run: the file's time budget of {self.budget:g} s ran out (--budget S "
                "gives it more)",
            )
        stop = self.blocked(needs)
        if stop is not None:
            return Outcome("not_run", reason=stop[1], part=stop[0])
        if self.child is None:
            try:
                self.start()
            except LoadError as exc:
                self.stopped["*"] = "the file could not be loaded again: " + (
                    exc.reason or str(exc)
                )
                return Outcome("not_run", reason=self.stopped["*"], part="*")
        child = self.child
        assert child is not None
        if self.progress is not None and label:
            self.progress(label)
        self.next_id += 1
        rid = self.next_id
        phase = ""
        since = time.monotonic()
        times: dict[str, float] = {}  # seconds spent in each phase
        known: dict[str, Any] = {}
        if not child.send({"id": rid, **request}):
            return self._died(child, phase, parts, label, known)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                msg = child.get(deadline)
            except TimeoutError:
                return self._hung(child, phase, parts, label, known)
            if msg is None or "bad" in msg:
                return self._died(child, phase, parts, label, known)
            if msg.get("id") != rid:
                continue
            if "phase" in msg:
                if phase:
                    times[phase] = times.get(phase, 0.0) + time.monotonic() - since
                phase, since = msg["phase"], time.monotonic()
                known.update(msg.get("known", {}))
                continue
            if phase:
                times[phase] = times.get(phase, 0.0) + time.monotonic() - since
            printed = int(msg.get("printed", 0))
            self.printed += printed
            if "ok" in msg:
                return Outcome(
                    "ok", result=msg["ok"], phase=phase, printed=printed, known=known, times=times
                )
            return Outcome("error", error=msg["error"], phase=phase, printed=printed, known=known)

    def _stop(self, phase: str, parts: Mapping[str, str] | None, why: str) -> None:
        part = (parts or {}).get(phase) or (parts or {}).get("*")
        if part:
            self.stopped.setdefault(part, why)

    def _hung(
        self,
        child: _Child,
        phase: str,
        parts: Mapping[str, str] | None,
        label: str,
        known: dict[str, Any],
    ) -> Outcome:
        child.kill()
        self.child = None
        self.hangs += 1
        what = _PHASE_WORDS.get(phase, "your code")
        reason = f"{what} did not finish within {self.timeout:g} s"
        self._stop(phase, parts, f"not run: {reason} in an earlier check ({label})")
        if self.hangs >= MAX_HANGS:
            self.stopped["*"] = (
                f"not run: {self.hangs} checks ran out of time, so gradcli stopped running "
                "this file"
            )
        return Outcome("timeout", reason=reason, phase=phase, known=known)

    def _died(
        self,
        child: _Child,
        phase: str,
        parts: Mapping[str, str] | None,
        label: str,
        known: dict[str, Any],
    ) -> Outcome:
        code = child.exit_code()
        child.kill()
        self.child = None
        what = _PHASE_WORDS.get(phase, "your code")
        reason = f"{describe_exit(code)} while {what} ran"
        self._stop(phase, parts, f"not run: {reason} in an earlier check ({label})")
        return Outcome("crash", reason=reason, phase=phase, known=known)


_PHASE_WORDS = {
    "construct": "Value(x)",
    "forward": "the forward pass",
    "backward": "backward()",
    "_backward": "_backward()",
    "call": "the function",
}
