"""Appending JSON Lines records to a log file the way the serving sink does: ``O_APPEND`` batches of whole
lines (each one ``write()``), a regular file only (a FIFO, device or directory is refused), created 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from ..errors import UsageError

_BATCH = 1 << 20


def _open_append(path: str) -> int:
    """An ``O_APPEND`` descriptor on a regular file (created 0600); refuses FIFOs, devices and directories."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot write: {exc.strerror or exc}", file=path) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError("not a regular file: refused", file=path)
    return fd


def append_records(path: str, lines: Iterable[str]) -> int:
    """Append JSON lines to ``path`` in batches (each one ``write()`` with ``O_APPEND``, like the log sink)."""
    fd = _open_append(path)
    written = 0
    try:
        batch: list[str] = []
        size = 0
        for line in lines:
            batch.append(line)
            size += len(line) + 1
            if size >= _BATCH:
                written += _write(fd, batch)
                batch, size = [], 0
        if batch:
            written += _write(fd, batch)
    finally:
        os.close(fd)
    return written


def _write(fd: int, batch: list[str]) -> int:
    view = memoryview(("\n".join(batch) + "\n").encode("ascii"))
    while view:
        view = view[os.write(fd, view) :]
    return len(batch)
