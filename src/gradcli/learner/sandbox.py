"""How a learner's code is started: contained always, sandboxed when asked.

``gradcli check`` runs the user's own code, ``gradcli grade`` forty strangers'. Every child that
runs learner code is started through :func:`launch`, which returns a :class:`Launch`: the command
line, the ``Popen`` arguments and what to clean up afterwards.

**Always** (check and grade):

- a scratch working directory, which is also ``HOME`` and ``TMPDIR``, made for this child and
  removed after it;
- resource limits set before the child runs (memory as ``RLIMIT_DATA``, CPU seconds, the size of
  one written file, and the number of processes where the OS honours it: not for root);
- a new session, so the child and what it forks form their own process group;
- a small intermediate process (``sh``) between gradcli and the worker, so that
  ``os.kill(os.getppid(), ...)`` hits that stand-in, not gradcli;
- at the end, the whole process group is killed, and then (Linux) every process that still carries
  this child's marker in its environment: forked children that sleep, even ones that called
  ``setsid()``, do not outlive the check.

What it does **not** guarantee: the code runs as your user, so it can read and write whatever you
can (files beside it, other submissions, your home folder by its absolute path), open network
connections, and signal any of your processes it can find (by scanning ``/proc``, say). A
descendant that clears its environment by ``exec`` and leaves the session escapes the clean-up.
When gradcli itself is killed, the children die with it (``PR_SET_PDEATHSIG`` on the stand-in,
which the worker watches), but their scratch folders stay behind.

**Sandbox** (``--sandbox``: bubblewrap's ``bwrap``): the same, and the whole file system read-only
except the scratch folder (``/tmp`` is an empty tmpfs), no network (``--unshare-all``), its own
PID namespace (gradcli and every other process are invisible, so nothing can be signalled;
everything left in it dies with it), killed with gradcli (``--die-with-parent``), and a new
session (no terminal injection). It does not limit CPU or memory beyond the limits above, and it
does not hide what is readable on the machine (the code can read your files, only not change
them or send them anywhere).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: the child's memory limit in MiB (``GRADCLI_CHECK_MEMORY_MB`` changes it)
MEMORY_MB = 4096
#: CPU seconds one child may use in all (a hang is stopped sooner, by the wall-clock timeout)
CPU_SECONDS = 600
#: the largest file the child may write, MiB
FILE_MB = 64
#: processes and threads the child may add to what the user already runs (not for root)
EXTRA_PROCESSES = 512

#: the environment variable that marks every process started for one child
MARK = "GRADCLI_SANDBOX_MARK"

INSTALL_HINT = "apt-get install bubblewrap"


@dataclass(frozen=True)
class Policy:
    """How children are contained: ``sandbox`` asks for bwrap (only honoured when
    :func:`bwrap_problem` is None); ``read_paths`` are folders the child must be able to read
    even when they lie under ``/tmp`` (which the sandbox hides)."""

    sandbox: bool = False
    memory_mb: int = MEMORY_MB
    cpu_seconds: int = CPU_SECONDS
    file_mb: int = FILE_MB
    read_paths: tuple[str, ...] = ()

    def with_paths(self, *paths: str | Path) -> Policy:
        return replace(self, read_paths=self.read_paths + tuple(str(p) for p in paths))


_POLICY: ContextVar[Policy | None] = ContextVar("gradcli_sandbox_policy", default=None)


def current() -> Policy:
    """The policy children started in this context get."""
    return _POLICY.get() or Policy()


@contextlib.contextmanager
def using(policy: Policy) -> Iterator[Policy]:
    """Start the children of this block (this thread, this context) under ``policy``."""
    token = _POLICY.set(policy)
    try:
        yield policy
    finally:
        _POLICY.reset(token)


_probe_lock = threading.Lock()
_probe: list[str | None] = []


def bwrap_problem() -> str | None:
    """None when bwrap can make a sandbox here; else why not, in words (checked once)."""
    with _probe_lock:
        if not _probe:
            _probe.append(_probe_bwrap())
        return _probe[0]


def _probe_bwrap() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux and bubblewrap (this is {sys.platform})"
    exe = shutil.which("bwrap")
    if exe is None:
        return f"bwrap (bubblewrap) is not installed; install it with: {INSTALL_HINT}"
    try:
        done = subprocess.run(
            [exe, *_BWRAP_BASE, "--", "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap could not be run ({exc})"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"bwrap cannot make a sandbox here ({why[-1] if why else done.returncode})"
    return None


def resolve(requested: bool | None, default: bool, warn: Callable[[str], None]) -> Policy:
    """The policy for a command: ``requested`` is ``--sandbox``/``--no-sandbox`` (None when not
    given, then ``default`` decides, quietly). Asked for explicitly and not available: one line
    through ``warn``, and the always-level."""
    if requested is False or (requested is None and not default):
        return Policy()
    problem = bwrap_problem()
    if problem is None:
        return Policy(sandbox=True)
    if requested:
        warn(f"gradcli: --sandbox: {problem}; running without the sandbox\n")
    return Policy()


# ---- starting a child --------------------------------------------------------------------------

_BWRAP_BASE = (
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
)

#: the stand-in parent: runs the worker as a child (never exec's it: the trailing command keeps
#: sh waiting) and passes its exit status on
_SUPERVISOR = ["/bin/sh", "-c", '"$@"; exit $?', "gradcli-supervisor"]


@dataclass
class Launch:
    """One child, ready to start: ``Popen(argv, **kwargs())``; :meth:`finish` afterwards."""

    argv: list[str]
    scratch: Path
    env: dict[str, str]
    mark: str
    sandboxed: bool
    limits: dict[int, tuple[int, int]] = field(default_factory=dict)
    finished: bool = False

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cwd": str(self.scratch), "env": self.env}
        if os.name == "posix":
            out["start_new_session"] = True
            if self.limits:
                out["preexec_fn"] = _set_limits(self.limits)
        return out

    def exit_code(self, code: int | None) -> int | None:
        """The worker's own exit status: ``sh`` and ``bwrap`` report a signal as 128 + n."""
        if code is not None and os.name == "posix" and 128 < code <= 128 + 64:
            return -(code - 128)
        return code

    def finish(self, pid: int | None) -> None:
        """Kill everything this child started, then remove its scratch folder."""
        if self.finished:
            return
        self.finished = True
        if pid is not None and os.name == "posix":
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        kill_marked(self.mark)
        shutil.rmtree(self.scratch, ignore_errors=True)
        with _active_lock:
            _active.pop(self.mark, None)


def _set_limits(limits: dict[int, tuple[int, int]]) -> Callable[[], None]:
    import resource

    setrlimit = resource.setrlimit
    prctl = _prctl()
    parent = os.getpid()

    def preexec() -> None:  # runs in the forked child: no imports, no allocation to speak of
        for which, value in limits.items():
            with contextlib.suppress(ValueError, OSError):
                setrlimit(which, value)
        if prctl is not None:
            # killed when gradcli's thread that started it ends (a killed gradcli, say); the
            # worker watches its own parent, so it follows
            prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
            if os.getppid() != parent:
                os._exit(1)

    return preexec


def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _limits(policy: Policy) -> dict[int, tuple[int, int]]:
    if os.name != "posix":
        return {}
    import resource

    def lower(which: int, want: int, hard_extra: int = 0) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        new_hard = hard  # the hard limit stays, except for CPU: SIGXCPU first, SIGKILL soon after
        if hard_extra:
            infinite = hard == resource.RLIM_INFINITY
            new_hard = want + hard_extra if infinite else min(want + hard_extra, hard)
        if soft == resource.RLIM_INFINITY or soft > want:
            out[which] = (want, new_hard)

    out: dict[int, tuple[int, int]] = {}
    mb = _env_int("GRADCLI_CHECK_MEMORY_MB", policy.memory_mb)
    if sys.platform.startswith("linux"):
        lower(resource.RLIMIT_DATA, mb * 1024 * 1024)
    else:
        lower(resource.RLIMIT_AS, mb * 1024 * 1024)
    lower(resource.RLIMIT_CPU, _env_int("GRADCLI_CHECK_CPU_S", policy.cpu_seconds), 5)
    lower(resource.RLIMIT_FSIZE, policy.file_mb * 1024 * 1024)
    if hasattr(resource, "RLIMIT_NPROC") and os.geteuid() != 0:
        lower(resource.RLIMIT_NPROC, _user_tasks() + EXTRA_PROCESSES)
    return out


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def _user_tasks() -> int:
    """Processes and threads this user runs now (RLIMIT_NPROC counts them all)."""
    uid = os.getuid()
    n = 0
    try:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if entry.stat().st_uid == uid:
                        n += len(os.listdir(f"/proc/{entry.name}/task"))
    except OSError:
        return 4096
    return n


_active: dict[str, Launch] = {}  # mark -> a child not finished yet
_active_lock = threading.Lock()
_stopping = threading.Event()


class Stopped(RuntimeError):
    """No new child: gradcli is stopping (Ctrl-C in ``grade``)."""


def stop_all() -> int:
    """Start no new child and kill every running one (and what it forked); how many processes.
    For Ctrl-C while a class is graded: the threads then finish at once."""
    _stopping.set()
    with _active_lock:
        marks = list(_active)
    return sum(kill_marked(m) for m in marks)


def resume() -> None:
    _stopping.clear()


def launch(cmd: Sequence[str], path: Path, env: dict[str, str]) -> Launch:
    """How to start ``cmd``, which runs the learner's ``path``, under the current policy."""
    if _stopping.is_set():
        raise Stopped("gradcli is stopping")
    policy = current()
    scratch = Path(tempfile.mkdtemp(prefix="gradcli-scratch-"))
    mark = uuid.uuid4().hex
    env = dict(env)
    env.update(
        {
            "HOME": str(scratch),
            "TMPDIR": str(scratch),
            "MPLCONFIGDIR": str(scratch),
            "XDG_CACHE_HOME": str(scratch),
            "PYTHONUSERBASE": str(scratch),
            MARK: mark,
        }
    )
    sandboxed = policy.sandbox and bwrap_problem() is None
    if sandboxed:
        argv = _bwrap(list(cmd), scratch, path, policy)
    elif os.name == "posix" and os.path.exists(_SUPERVISOR[0]):
        argv = [*_SUPERVISOR, *cmd]
    else:
        argv = list(cmd)
    started = Launch(argv, scratch, env, mark, sandboxed, _limits(policy))
    with _active_lock:
        _active[mark] = started
    return started


def _bwrap(cmd: list[str], scratch: Path, path: Path, policy: Policy) -> list[str]:
    exe = shutil.which("bwrap") or "bwrap"
    args = [exe, *_BWRAP_BASE, "--bind", str(scratch), str(scratch)]
    # /tmp is an empty tmpfs inside; what the child must read from under it is bound back
    src = Path(__file__).resolve().parents[2]
    wanted = [path.resolve().parent, src, Path(sys.prefix), Path(sys.base_prefix)]
    wanted += [Path(p) for p in policy.read_paths]
    seen: set[str] = set()
    for p in wanted:
        with contextlib.suppress(OSError, ValueError):
            real = p.resolve()
            if real.is_relative_to("/tmp") and str(real) not in seen and real.exists():
                seen.add(str(real))
                args += ["--ro-bind", str(real), str(real)]
    args += ["--chdir", str(scratch), "--"]
    return args + cmd


def kill_marked(mark: str) -> int:
    """SIGKILL every process of this user whose environment carries ``mark`` (Linux); how many."""
    if not sys.platform.startswith("linux"):
        return 0
    needle = f"{MARK}={mark}".encode()
    me = os.getpid()
    uid = os.getuid()
    killed = 0
    for _round in range(3):  # a process may fork while we look: look again
        found = 0
        try:
            entries = list(os.scandir("/proc"))
        except OSError:
            return killed
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                if entry.stat().st_uid != uid:
                    continue
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if needle in data:
                with contextlib.suppress(OSError):
                    os.kill(int(entry.name), signal.SIGKILL)
                    found += 1
        killed += found
        if not found:
            break
    return killed
