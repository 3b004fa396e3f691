"""All terminal output flows through here: data to stdout, status and errors to stderr — and through the
redactor (:func:`llmops_cli.redact.redact`) on its way, rich's consoles included.

rich is imported only by commands that draw tables, diffs or progress bars (``out()``/``err()``);
messages, JSON, plain tables and rendered prompts are written directly, which keeps start-up of the
everyday commands (``prompt render``, ``prompt list``) free of rich's ~20 ms import.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

from .. import settings
from ..errors import LlmopsError
from ..redact import redact

if TYPE_CHECKING:
    from rich.console import Console

_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


class _Redacting:
    """A text stream that redacts what it writes and forwards to ``sys.stdout`` / ``sys.stderr`` as they are
    at write time (so captured streams keep working)."""

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def _inner(self) -> TextIO:
        return getattr(sys, self._name)

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)


@cache
def out() -> Console:
    """rich Console for data (stdout). Respects NO_COLOR; plain when not a terminal."""
    from rich.console import Console

    return Console(file=_Redacting("stdout"), highlight=False, soft_wrap=False, width=_width(sys.stdout))  # type: ignore[arg-type]


@cache
def err() -> Console:
    """rich Console for status, warnings and errors (stderr)."""
    from rich.console import Console

    return Console(file=_Redacting("stderr"), highlight=False, soft_wrap=True, width=_width(sys.stderr))  # type: ignore[arg-type]


def _width(stream: Any) -> int | None:
    """$COLUMNS, else the terminal's width, else 160 when output is piped or captured."""
    cols = settings.COLUMNS.raw()
    if cols and cols.isdigit():
        return int(cols)
    return None if stream.isatty() else 160


def color_enabled(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    return stream.isatty() and not settings.NO_COLOR.present() and settings.TERM.raw() != "dumb"


def style(text: str, *styles: str, stream: TextIO | None = None) -> str:
    """``text`` wrapped in ANSI styles when ``stream`` (default stdout) shows colour."""
    if not styles or not color_enabled(stream or sys.stdout):
        return text
    codes = ";".join(_ANSI[s] for s in styles)
    return f"\x1b[{codes}m{text}\x1b[0m"


def rule(title: str, width: int | None = None) -> str:
    """A horizontal rule with a title on the left: ``── system ─────``."""
    total = min(width or _width(sys.stdout) or shutil.get_terminal_size().columns, 120)
    head = f"── {title} "
    return head + "─" * max(3, total - len(head))


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, no colour, no wrapping."""
    sys.stdout.write(redact(json.dumps(data, indent=2, ensure_ascii=False, default=str)) + "\n")
    sys.stdout.flush()


def print_text(text: str) -> None:
    """Raw text on stdout (no markup interpretation)."""
    text = redact(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def print_columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """An aligned plain-text table on stdout (headers in bold on a terminal)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [style(line(headers), "bold"), *(line(r) for r in rows)]
    print_text("\n".join(lines))


def _message(label: str, color: str, message: str) -> None:
    prefix = style(label, "bold", color, stream=sys.stderr) if label else ""
    sys.stderr.write(f"{prefix}{' ' if prefix else ''}{redact(message)}\n")
    sys.stderr.flush()


def error(message: str) -> None:
    _message("error:", "red", message)


def warning(message: str) -> None:
    _message("warning:", "yellow", message)


def info(message: str) -> None:
    sys.stderr.write(style(redact(message), "dim", stream=sys.stderr) + "\n")
    sys.stderr.flush()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # tab and line feed kept
_CONTROL_AND_NEWLINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")  # tab kept


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with control characters shown as ``\\xNN`` / ``\\uNNNN``: data from logs, release notes or
    git (a tag value, a channel's move reason) must not drive the terminal that prints it (ESC sequences,
    carriage returns). Tabs and, with ``newlines``, line feeds are kept."""
    pattern = _CONTROL if newlines else _CONTROL_AND_NEWLINE
    return pattern.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )


def cell(value: object) -> str:
    """A value from untrusted data as a rich table cell: control characters escaped, markup inert."""
    from rich.markup import escape

    return escape(printable(str(value)))


def user_error_line(exc: LlmopsError) -> str:
    """The one-line form of an llmops error: ``file:line: message`` (control characters shown escaped)."""
    return printable(str(exc).replace("\n", " "), newlines=True)
