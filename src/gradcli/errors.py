"""One exception family. Each error knows the exit code the CLI turns it into."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes, the same for every command."""

    OK = 0
    MISMATCH = 1  # a check ran and found a disagreement
    BAD_INPUT = 2  # bad input, or a missing optional dependency
    INTERNAL = 70  # a bug in gradcli (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class GradcliError(Exception):
    """Base of every error gradcli raises on purpose.

    ``message`` is one line that says what is wrong; ``hint`` (optional) says how to fix it;
    ``detail`` (optional) is extra lines shown under the message (e.g. a caret under the input).
    """

    exit_code: ExitStatus = ExitStatus.BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def one_line(self) -> str:
        """The message and its hint, as a single line."""
        return f"{self.message}; {self.hint}" if self.hint else self.message


class ParseError(GradcliError, ValueError):
    """The expression text is not something gradcli accepts."""

    def __init__(
        self,
        message: str,
        *,
        text: str = "",
        pos: int | None = None,
        hint: str | None = None,
    ):
        detail = caret_excerpt(text, pos) if pos is not None and text else None
        super().__init__(message, hint=hint, detail=detail)
        self.text = text
        self.pos = pos


class DomainError(GradcliError, ValueError):
    """An operation was applied outside its domain, or a result overflowed.

    ``reason`` says why in words about the op alone ("log needs a positive argument");
    ``overflow`` is True when the result was too large for a float.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        reason: str | None = None,
        overflow: bool = False,
    ):
        super().__init__(message, hint=hint)
        self.reason = reason or message
        self.overflow = overflow


class PointError(GradcliError, ValueError):
    """The point (``--at``) does not fit the expression."""


class MissingDependencyError(GradcliError, ImportError):
    """An optional extra (torch, matplotlib) is needed but not installed."""


def caret_excerpt(text: str, pos: int, width: int = 60) -> str:
    """Two lines: a window of ``text`` around ``pos`` and a caret under ``pos``."""
    pos = max(0, min(pos, len(text)))
    start = max(0, pos - width // 2)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(text) else ""
    window = text[start:end].replace("\n", " ").replace("\t", " ")
    return f"  {prefix}{window}{suffix}\n  {' ' * (len(prefix) + pos - start)}^"
