"""The run journal: ``.llmops/runs/<run-id>/`` with ``run.json`` (what was asked) and ``journal.jsonl``
(one line per finished sample, appended as it completes). Every line passes through the redactor.

Records are handed to a writer thread that appends them in order, flushes and fsyncs each batch (group
commit), so the event loop never blocks on the disk. After a crash or ``kill -9`` the journal holds every
record written so far; a torn last line is cut off on resume. Records whose provider calls were all cache
replays are not fsynced (losing them costs nothing: a resume replays them from the cache again).
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import NotFoundError, UserError
from ..redact import redact, redactor

RUNS_DIR = os.path.join(".llmops", "runs")
JOURNAL_FILE = "journal.jsonl"
META_FILE = "run.json"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def runs_dir(root: str) -> str:
    return os.path.join(root, RUNS_DIR)


def record_key(record: dict[str, Any]) -> tuple[str, str, int]:
    return (record["prompt"], record["case_id"], int(record["sample"]))


class Journal:
    """Append-only JSONL journal of one run."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, JOURNAL_FILE)
        self.meta_path = os.path.join(directory, META_FILE)
        self._queue: queue.Queue[tuple[str, bool] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._redact: Callable[[str], str] | None = None  # taken at the first append (after planning)

    # -- lifecycle ----------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str, run_id: str, meta: dict[str, Any]) -> Journal:
        directory = os.path.join(runs_dir(root), run_id)
        os.makedirs(directory, exist_ok=False)
        j = cls(directory)
        tmp = j.meta_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(redact(json.dumps(meta, indent=2, ensure_ascii=False)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, j.meta_path)
        open(j.path, "a").close()
        return j

    @classmethod
    def open_existing(cls, root: str, run_id: str) -> Journal:
        """The journal of an earlier run (for ``--resume``); a torn last line is truncated."""
        if os.sep in run_id or "/" in run_id or run_id in ("", ".", ".."):
            raise UserError(f"--resume takes a run id (a folder name under {RUNS_DIR}/), not a path: {run_id!r}")
        directory = os.path.join(runs_dir(root), run_id)
        j = cls(directory)
        if not os.path.isfile(j.meta_path):
            known = sorted(os.listdir(runs_dir(root))) if os.path.isdir(runs_dir(root)) else []
            raise NotFoundError(
                f"no run {run_id!r} under {RUNS_DIR}/" + (f" (latest: {known[-1]})" if known else " (no runs yet)")
            )
        if os.path.exists(j.path):
            j._truncate_torn_tail()
        return j

    def meta(self) -> dict[str, Any]:
        with open(self.meta_path, encoding="utf-8") as fh:
            meta: dict[str, Any] = json.load(fh)  # written by open(): always an object
        return meta

    def _truncate_torn_tail(self) -> None:
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                fh.truncate(cut)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._writer, name="llmops-journal", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error

    # -- writing ------------------------------------------------------------------------------------------
    def append(self, record: dict[str, Any], *, durable: bool = True) -> None:
        """Queue one record; the writer thread appends it (and fsyncs when ``durable``)."""
        if self._redact is None:
            self._redact = redactor()  # the key variables, read once per run
        line = self._redact(json.dumps(record, ensure_ascii=False, separators=(",", ":"))) + "\n"
        if self._thread is None:
            self._write_batch([(line, durable)])
        else:
            self._queue.put((line, durable))

    def _writer(self) -> None:
        done = False
        while not done:
            item = self._queue.get()
            batch: list[tuple[str, bool]] = []
            if item is None:
                done = True
            else:
                batch.append(item)
            while True:  # group commit: take whatever else is waiting
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    done = True
                else:
                    batch.append(more)
            if batch:
                try:
                    self._write_batch(batch)
                except BaseException as exc:  # surfaced by close()
                    self._error = exc

    def _write_batch(self, batch: list[tuple[str, bool]]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("".join(line for line, _ in batch))
            fh.flush()
            if any(durable for _, durable in batch):
                os.fsync(fh.fileno())

    # -- reading ------------------------------------------------------------------------------------------
    def records(self) -> Iterator[dict[str, Any]]:
        """Every complete record, in the order written."""
        if not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if line.endswith("\n") and line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue

    def index(self) -> list[tuple[tuple[str, str, int], int]]:
        """``(record key, byte offset)`` of each record, keeping the last record of a key."""
        seen: dict[tuple[str, str, int], int] = {}
        if not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as fh:
            offset = 0
            for raw in fh:
                if raw.endswith(b"\n") and raw.strip():
                    try:
                        rec = json.loads(raw)
                        seen[record_key(rec)] = offset
                    except (ValueError, KeyError, TypeError):
                        pass
                offset += len(raw)
        return list(seen.items())

    def read_at(self, fh: Any, offset: int) -> dict[str, Any]:
        fh.seek(offset)
        record: dict[str, Any] = json.loads(fh.readline())  # a line this journal appended: an object
        return record
