"""The containment every learner child gets (gradcli.learner.sandbox), piece by piece."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradcli.learner import sandbox


@pytest.fixture
def no_bwrap(monkeypatch):
    monkeypatch.setattr(
        sandbox,
        "_probe",
        ["bwrap (bubblewrap) is not installed; install it with: apt-get install bubblewrap"],
    )


def test_sandbox_resolve_warns_once_only_when_asked(no_bwrap):
    said: list[str] = []
    assert sandbox.resolve(None, True, said.append) == sandbox.Policy()  # grade's default: quiet
    assert said == []
    assert sandbox.resolve(True, False, said.append) == sandbox.Policy()
    assert len(said) == 1 and "apt-get install bubblewrap" in said[0]
    assert sandbox.resolve(False, True, said.append) == sandbox.Policy() and len(said) == 1


def test_sandbox_exit_codes_of_the_stand_in_are_the_workers(tmp_path):
    launch = sandbox.launch(["true"], tmp_path / "x.py", dict(os.environ))
    try:
        assert launch.exit_code(139) == -11 and launch.exit_code(137) == -9
        assert launch.exit_code(3) == 3 and launch.exit_code(None) is None
    finally:
        launch.finish(None)


def test_sandbox_scratch_home_and_limits(tmp_path):
    code = (
        "import os, resource, sys\n"
        "open('here.txt', 'w').write('x')\n"
        "print(os.getcwd() == os.environ['HOME'] == os.environ['TMPDIR'])\n"
        "print(resource.getrlimit(resource.RLIMIT_FSIZE)[0])\n"
        "print(os.getsid(0) == os.getpid() or os.getsid(0) == os.getppid())\n"
    )
    launch = sandbox.launch([sys.executable, "-c", code], tmp_path / "x.py", dict(os.environ))
    scratch = launch.scratch
    out = subprocess.run(launch.argv, capture_output=True, text=True, **launch.kwargs())
    lines = out.stdout.split()
    assert lines[0] == "True" and int(lines[1]) == sandbox.FILE_MB * 1024 * 1024
    assert lines[2] == "True"  # its own session (the stand-in leads it)
    assert (scratch / "here.txt").exists() and not (tmp_path / "here.txt").exists()
    launch.finish(None)
    assert not scratch.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_sandbox_finish_kills_what_left_the_session(tmp_path):
    tag = f"{os.getpid()}.{int(time.time() * 1000) % 100000}"
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    os.execv('/bin/sleep', ['sleep', '{tag}'])\n"
    )
    launch = sandbox.launch([sys.executable, "-c", code], tmp_path / "x.py", dict(os.environ))
    proc = subprocess.Popen(launch.argv, **launch.kwargs())
    proc.wait(timeout=30)

    def sleepers() -> list[str]:
        found = []
        for p in Path("/proc").iterdir():
            try:
                if (p / "cmdline").read_bytes() == f"sleep\0{tag}\0".encode():
                    found.append(p.name)
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 10
    while not sleepers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers(), "the forked sleeper should be running before finish()"
    launch.finish(proc.pid)
    time.sleep(0.2)
    assert sleepers() == []
