"""The terminal cannot crash gradcli: -h, an ASCII-only stdout, a narrow one, a closed pipe.
Run as real processes, since these are properties of the process and its streams."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

COMMANDS = [
    ["grad"],
    ["compare", "--sweep"],
    ["hessian"],
    ["graph"],
    ["explain"],
    ["softmax"],
    ["ops"],
    ["verify-torch", "tanh(x*y)", "--at", "x=0.5,y=2", "--hessian"],
]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[bytes]:
    full = {**os.environ, "NO_COLOR": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "gradcli", *args], capture_output=True, env=full, timeout=120
    )


@pytest.mark.parametrize("args", [["-h"], ["grad", "-h"], ["hessian", "-h"], ["compare", "-h"]])
def test_terminal_dash_h_is_help_everywhere(args):
    r = _run(args)
    assert r.returncode == 0, r.stderr
    assert b"Usage" in r.stdout and not r.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_terminal_ascii_only_stdout_falls_back_to_ascii(args):
    r = _run(args, PYTHONIOENCODING="ascii", COLUMNS="100")
    assert r.returncode == 0, r.stderr.decode()
    assert b"Traceback" not in r.stderr
    r.stdout.decode("ascii")  # every byte is ASCII
    assert len(r.stdout) > 200


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_terminal_narrow_terminal_still_prints_everything(args):
    r = _run(args, COLUMNS="30")
    assert r.returncode == 0, r.stderr.decode()
    assert b"Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["compare", "--sweep"], b""),
        # 3,001 rows, ~250 kB: far more than a pipe's buffer, so the write meets the closed end
        (["graph", "-", "--at", "x=1", "--max-nodes", "0"], b"+".join([b"x"] * 3000)),
    ],
    ids=["compare-sweep", "graph-3001-rows"],
)
def test_terminal_closed_pipe_ends_quietly_with_0(args, stdin):
    # like `gradcli compare --sweep | head -1`: the reader goes away after one line
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    p = subprocess.Popen(
        [sys.executable, "-m", "gradcli", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert p.stdin is not None and p.stdout is not None and p.stderr is not None
    p.stdin.write(stdin)
    p.stdin.close()
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0
    assert b"Traceback" not in err and b"error" not in err
