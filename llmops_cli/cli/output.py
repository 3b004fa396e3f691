"""All terminal output flows through here: data to stdout, status and errors to stderr."""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from typing import Any

from rich.console import Console

from ..errors import LlmopsError


@cache
def out() -> Console:
    """Console for data (stdout). Respects NO_COLOR; plain when not a terminal."""
    return Console(highlight=False, soft_wrap=False, width=_width(sys.stdout))


@cache
def err() -> Console:
    """Console for status, warnings and errors (stderr)."""
    return Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))


def _width(stream: Any) -> int | None:
    """$COLUMNS, else the terminal's width, else 160 when output is piped or captured."""
    cols = os.environ.get("COLUMNS")
    if cols and cols.isdigit():
        return int(cols)
    return None if stream.isatty() else 160


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, no colour, no wrapping."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def print_text(text: str) -> None:
    """Raw text on stdout (no markup interpretation)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    err().print(f"[bold red]error:[/] {_escape(message)}")


def warning(message: str) -> None:
    err().print(f"[yellow]warning:[/] {_escape(message)}")


def info(message: str) -> None:
    err().print(_escape(message), style="dim")


def user_error_line(exc: LlmopsError) -> str:
    """The one-line form of an llmops error: ``file:line: message``."""
    return str(exc).replace("\n", " ")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
