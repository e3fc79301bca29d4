"""The rich Console every command prints through, safe on any terminal.

A stream that cannot encode Unicode (``PYTHONIOENCODING=ascii``, some CI logs, Windows code
pages) gets the same output in ASCII: rich draws its tables with ASCII boxes once it sees the
stream's encoding, and :class:`AsciiStream` spells gradcli's own symbols (★ ∂ … × ─) in ASCII.
"""

from __future__ import annotations

import re
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


#: spaces and tabs at the end of a line, and the colour codes that may follow them
_TRAILING = re.compile(r"[ \t](?:[ \t]|\x1b\[[0-9;]*m)*(?=\n)")
_TAIL = re.compile(r"[ \t](?:[ \t]|\x1b\[[0-9;]*m)*$")
_CODE = re.compile(r"\x1b\[[0-9;]*m")


def _codes_only(match: re.Match[str]) -> str:
    return "".join(_CODE.findall(match.group()))


class TrimStream:
    """A text stream that never writes whitespace at the end of a line.

    rich pads every line of a table (and of a grid) to the full width; piped into a file, a diff
    or an editor, that is noise. Whitespace at the end of a write is held back until the next
    write shows whether the line goes on (then it is written) or ends (then it is dropped, with
    the colour codes among it: rich resets colours before a line ends).
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._held = ""

    def write(self, text: str) -> int:
        text = _TRAILING.sub(_codes_only, self._held + text)
        tail = _TAIL.search(text)
        self._held = tail.group() if tail else ""
        text = text[: tail.start()] if tail else text
        self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        # what is held stays held: it is written if the line goes on, and never if it ends
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._stream, "isatty", lambda: False)())

    def fileno(self) -> int:
        return int(self._stream.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def safe_stream(stream: TextIO) -> Any:
    """``stream`` itself when it can show gradcli's output, else an :class:`AsciiStream`."""
    return stream if can_encode(stream) else AsciiStream(stream)


def make_console(stderr: bool = False) -> Any:
    """A rich Console on stdout (or stderr), made when needed: it reads NO_COLOR, COLUMNS and the
    terminal when it is made, so it is never built at import time."""
    stream = sys.stderr if stderr else sys.stdout
    return _console_class()(file=TrimStream(safe_stream(stream)), highlight=False, soft_wrap=False)


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
