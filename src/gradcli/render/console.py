"""The rich Console every command prints through, safe on any terminal.

A stream that cannot encode Unicode (``PYTHONIOENCODING=ascii``, some CI logs, Windows code
pages) gets the same output in ASCII: rich draws its tables with ASCII boxes once it sees the
stream's encoding, and :class:`AsciiStream` spells gradcli's own symbols (★ ∂ … × ─) in ASCII.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any, TextIO

#: what gradcli's own output uses beyond ASCII, spelled in ASCII
ASCII = str.maketrans(
    {
        "★": "*",
        "∂": "d",
        "…": "...",
        "×": "x",
        "—": "-",
        "–": "-",
        "−": "-",
        "─": "-",
        "━": "-",
        "│": "|",
        "┤": "|",
        "├": "|",
        "└": "`",
        "┌": "+",
        "┐": "+",
        "┘": "+",
        "┼": "+",
        "·": ".",
        "≤": "<=",
        "≥": ">=",
        "≈": "~",
        "→": "->",
        "←": "<-",
        "²": "2",  # one column for one: a table laid out with ² stays aligned (d2f/dx2)
        "³": "3",
        "√": "sqrt",
        "π": "pi",
        "∞": "inf",
        "±": "+/-",
        "✓": "ok",
        "✗": "x",
        "•": "*",
        "▲": "^",
        "▼": "v",
    }
)


def can_encode(stream: Any, sample: str = "★∂…×─│") -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        sample.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class AsciiStream:
    """A text stream that writes gradcli's symbols in ASCII, and anything else it cannot encode
    as ``?``, instead of raising UnicodeEncodeError."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.encoding = getattr(stream, "encoding", None) or "ascii"
        self.errors = "replace"

    def write(self, text: str) -> int:
        safe = text.translate(ASCII).encode(self.encoding, "replace").decode(self.encoding)
        return self._stream.write(safe)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._stream, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._stream.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def safe_stream(stream: TextIO) -> Any:
    """``stream`` itself when it can show gradcli's output, else an :class:`AsciiStream`."""
    return stream if can_encode(stream) else AsciiStream(stream)


def make_console(stderr: bool = False) -> Any:
    """A rich Console on stdout (or stderr), made when needed: it reads NO_COLOR, COLUMNS and the
    terminal when it is made, so it is never built at import time."""
    stream = sys.stderr if stderr else sys.stdout
    return _console_class()(file=safe_stream(stream), highlight=False, soft_wrap=False)


@cache
def _console_class() -> Any:
    from rich.console import Console

    class QuietPipeConsole(Console):
        """rich answers a closed pipe with ``SystemExit(1)``, the code gradcli keeps for "a check
        found a mismatch"; hand it back to the CLI's exit path instead, which ends quietly."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return QuietPipeConsole


def write_err(text: str) -> None:
    """One message on stderr, whatever its encoding."""
    safe_stream(sys.stderr).write(text)
