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


@pytest.mark.parametrize(
    "args",
    [*COMMANDS, ["exercises"], ["compare", "sin(x)*y", "--at", "x=1,y=2", "--sweep"]],
    ids=[c[0] for c in COMMANDS] + ["exercises", "compare-2-variables"],
)
@pytest.mark.parametrize("columns", ["80", "200"])
def test_terminal_no_line_ends_in_whitespace(cli, monkeypatch, args, columns):
    # rich pads table lines to the terminal's width; piped into a file that is noise
    monkeypatch.setenv("COLUMNS", columns)
    r = cli(*args)
    assert r.code == 0, r.stderr
    bad = [line for line in r.stdout.splitlines() if line != line.rstrip()]
    assert not bad, bad[:3]


def test_terminal_no_trailing_whitespace_in_colour_either():
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(FORCE_COLOR="1", COLUMNS="120", TERM="xterm-256color")
    r = subprocess.run(
        [sys.executable, "-m", "gradcli", "hessian"], capture_output=True, env=env, timeout=120
    )
    assert r.returncode == 0
    assert b"\x1b[" in r.stdout  # coloured
    import re

    plain = re.sub(rb"\x1b\[[0-9;]*m", b"", r.stdout)
    assert all(line == line.rstrip() for line in plain.splitlines())


def test_terminal_trim_stream_holds_blanks_across_writes():
    import io

    from gradcli.render.console import TrimStream

    out = io.StringIO()
    s = TrimStream(out)
    for chunk in ["a  ", " b   ", "\x1b[0m  ", "\n", "c\t", "\x1b[1m", " ", "\n  \n", "d "]:
        s.write(chunk)
    s.flush()
    assert out.getvalue() == "a   b\x1b[0m\nc\x1b[1m\n\nd"
