"""Where request records go: the JSON Lines file sink, and how ``log=`` / ``$LLMOPS_LOG`` pick one.

:class:`JsonlFileSink` never blocks the request path: :meth:`~JsonlFileSink.emit` appends the record to a
bounded in-memory queue (a ``deque``; when it is full the record is dropped and counted in
:attr:`~JsonlFileSink.dropped`) and a daemon thread serialises and writes the queue every
``flush_interval`` seconds, or sooner when it fills up. Each batch is one ``write()`` to a file opened with
``O_APPEND``, so lines from threads, event loops — and processes sharing the file on a local filesystem —
never interleave. Before each batch the writer compares the path's inode with the open file's and reopens
when the file was moved or removed (logrotate's default move-and-create; ``copytruncate`` works too).
Only regular files are written: a FIFO, socket or device at the path (``LLMOPS_LOG=/dev/stdout``
included) is refused like an unwritable file — its records are dropped and counted, one warning logged — so a
FIFO without a reader never blocks a request, :func:`flush_all` or interpreter exit. New files are created with
mode 0600 (request logs carry caller tags and, when asked, redacted content);
pass ``file_mode`` to widen it. Records still queued are written at interpreter exit (``atexit``), on
:meth:`~JsonlFileSink.flush` and on :meth:`~JsonlFileSink.close`; after ``os.fork()`` the child starts with
an empty queue (the parent writes what it had queued).

A sink is any object with ``emit(record: dict) -> None``; ``log=`` takes a path or such an object.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import stat
import threading
import weakref
from collections import deque
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .. import settings
from ..errors import UsageError
from .record import to_json_line

__all__ = ["JsonlFileSink", "Sink", "file_sink", "flush_all", "resolve_sink"]

LOG_ENV = settings.LOG.name
DEFAULT_MAX_QUEUE = 10_000
DEFAULT_FLUSH_INTERVAL_S = 0.2
_MAX_BATCH_BYTES = 1 << 20

_logger = logging.getLogger("llmops_cli.serving")


@runtime_checkable
class Sink(Protocol):
    """Receives each finished record (a dict in schema order). Must not block or raise."""

    def emit(self, record: dict[str, Any]) -> None: ...


class JsonlFileSink:
    """Buffered, rotation-safe JSON Lines writer; one per path per process (see :func:`file_sink`)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL_S,
        file_mode: int = 0o600,
    ) -> None:
        if max_queue < 1:
            raise UsageError("max_queue must be at least 1")
        if not flush_interval > 0:
            raise UsageError("flush_interval must be positive")
        self.path = Path(path)
        self.max_queue = max_queue
        self.flush_interval = flush_interval
        self.file_mode = file_mode
        self.written = 0  # records written to disk
        self.write_errors = 0  # failed writes (each loses its batch; the batch is counted in `dropped`)
        self.reopened = 0  # times the file was (re)opened after the first
        self._dropped = 0
        self._wake_at = max(1, max_queue // 2)
        self._init_state()
        _SINKS.add(self)

    def _init_state(self) -> None:
        self._queue: deque[dict[str, Any]] = deque()
        self._io_lock = threading.Lock()
        self._drop_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()  # the running writer's (each writer thread gets its own)
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._fd_id: tuple[int, int] | None = None
        self._warned = False

    # -- request path -------------------------------------------------------------------------------------

    def emit(self, record: dict[str, Any]) -> None:
        """Queue a record; drops (and counts) it when the queue is full. Never blocks on disk."""
        queue = self._queue
        if len(queue) >= self.max_queue:
            self._count_drops(1)
            return
        queue.append(record)
        if self._thread is None:
            self._start()
        if len(queue) >= self._wake_at:
            self._wake.set()

    @property
    def dropped(self) -> int:
        """Records not written: the queue was full, or their write failed."""
        return self._dropped

    @property
    def pending(self) -> int:
        """Records queued, not yet written."""
        return len(self._queue)

    def stats(self) -> dict[str, int]:
        return {
            "written": self.written,
            "dropped": self.dropped,
            "pending": self.pending,
            "write_errors": self.write_errors,
            "reopened": self.reopened,
        }

    # -- writer -------------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything queued now (in the calling thread)."""
        self._drain()

    def close(self) -> None:
        """Flush, stop the writer thread and close the file. A later :meth:`emit` starts again."""
        with self._start_lock:
            thread, stop, self._thread = self._thread, self._stop, None
        stop.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        self._drain()
        with self._io_lock:
            self._close_fd()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            stop = self._stop = threading.Event()
            thread = threading.Thread(target=self._run, args=(stop,), name=f"llmops-log:{self.path.name}", daemon=True)
            self._thread = thread
            thread.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # never let the writer die: count and go on
                _logger.exception("llmops request log writer failed")

    def _drain(self) -> None:
        with self._io_lock:
            queue = self._queue
            while queue:
                lines: list[str] = []
                size = 0
                while queue and size < _MAX_BATCH_BYTES:
                    record = queue.popleft()
                    try:
                        line = to_json_line(record)
                    except (TypeError, ValueError):
                        self._count_drops(1)
                        continue
                    lines.append(line)
                    size += len(line) + 1
                if lines:
                    self._write(("\n".join(lines) + "\n").encode("ascii"), len(lines))

    def _write(self, data: bytes, count: int) -> None:
        try:
            fd = self._current_fd()
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except OSError as exc:
            self.write_errors += 1
            self._count_drops(count)
            self._close_fd()
            if not self._warned:
                self._warned = True
                _logger.warning("llmops: cannot write request log %s: %s", self.path, exc.strerror or exc)
            return
        self.written += count

    def _current_fd(self) -> int:
        """The open file, reopened when the path now names another file or none (rotation)."""
        if self._fd is not None:
            try:
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == self._fd_id:
                    return self._fd
            except FileNotFoundError:
                pass
            self._close_fd()
            self.reopened += 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_NONBLOCK: opening a FIFO that has no reader fails at once (ENXIO) instead of blocking this thread,
        # flush_all() and interpreter exit forever; anything but a regular file is then refused.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(self.path, flags, self.file_mode)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, socket or device): refused")
        self._fd, self._fd_id = fd, (st.st_dev, st.st_ino)
        return fd

    def _close_fd(self) -> None:
        fd, self._fd, self._fd_id = self._fd, None, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _count_drops(self, n: int) -> None:
        with self._drop_lock:
            self._dropped += n

    def _after_fork_in_child(self) -> None:
        fd = self._fd
        self._init_state()  # the parent's queue is the parent's to write; its locks may have been held
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __repr__(self) -> str:
        return f"JsonlFileSink({str(self.path)!r}, written={self.written}, dropped={self.dropped})"


_SINKS: weakref.WeakSet[JsonlFileSink] = weakref.WeakSet()
_BY_PATH: dict[str, JsonlFileSink] = {}
_BY_PATH_LOCK = threading.Lock()
_BY_NAME: dict[str, JsonlFileSink] = {}


def file_sink(path: str | os.PathLike[str]) -> JsonlFileSink:
    """The process's one :class:`JsonlFileSink` for ``path`` (created on first use)."""
    if isinstance(path, str):  # an absolute path as given (a relative one is resolved from the cwd each time)
        sink = _BY_NAME.get(path)
        if sink is not None:
            return sink
    key = os.path.abspath(os.fspath(path))
    sink = _BY_PATH.get(key)
    if sink is None:
        with _BY_PATH_LOCK:
            sink = _BY_PATH.get(key)
            if sink is None:
                sink = _BY_PATH[key] = JsonlFileSink(key)
    if isinstance(path, str) and os.path.isabs(path):
        _BY_NAME[path] = sink
    return sink


_env_cache: tuple[str, JsonlFileSink] | None = None


def env_sink() -> JsonlFileSink | None:
    """The file sink ``$LLMOPS_LOG`` names, if set (read at each call, so it can be set after loading)."""
    global _env_cache
    value = settings.LOG.raw()
    if not value:
        return None
    cached = _env_cache
    if cached is not None and cached[0] == value:
        return cached[1]
    sink = file_sink(value)
    _env_cache = (value, sink)
    return sink


def resolve_sink(log: Any) -> Sink | None:
    """``log=`` to a sink: a path (str / PathLike) → the shared file sink, an object with ``emit`` as is,
    ``False`` → none (also not ``$LLMOPS_LOG``), ``None`` → ``$LLMOPS_LOG`` when set."""
    if log is None:
        return env_sink()
    if log is False:
        return None
    if isinstance(log, str | os.PathLike):
        if not os.fspath(log):
            raise UsageError("log= needs a file path")
        return file_sink(log)
    if callable(getattr(log, "emit", None)):
        return log  # type: ignore[no-any-return]
    raise UsageError(f"log= takes a file path, a sink with emit(record), or False; not {type(log).__name__}")


def flush_all() -> None:
    """Write every file sink's queued records now (e.g. before a serverless runtime freezes the process)."""
    for sink in list(_SINKS):
        sink.flush()


def _close_all() -> None:
    for sink in list(_SINKS):
        with contextlib.suppress(Exception):
            sink.close()


def _reset_after_fork() -> None:
    for sink in list(_SINKS):
        sink._after_fork_in_child()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
