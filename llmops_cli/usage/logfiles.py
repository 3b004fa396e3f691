"""Which log files a usage command reads: files, directories, globs, ``$LLMOPS_LOG`` (and its rotations).

Bounded: at most :data:`MAX_FILES` files, directories walked :data:`MAX_DEPTH` levels deep without following
symbolic links, globs expanded once by :func:`llmops_cli.pathsafe.expand_glob` (no directory link followed).
Each file is read once: a second name of a file already selected (``current.jsonl`` linked to a rotated file)
is left out. ``s3://``, ``gs://`` and ``https://`` addresses are passed to DuckDB as they are (its httpfs
extension must be installed and loaded; llmops never installs extensions).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from ..errors import NotFoundError, UsageError
from ..pathsafe import expand_glob, has_glob, unique_real

MAX_FILES = 10_000
MAX_DEPTH = 8
# requests.jsonl, requests.jsonl.gz, logrotate's requests.jsonl.1 / .2.gz / -20261127(.gz), x.parquet
LOG_NAME = re.compile(r"\.jsonl(?:\.\d{1,6}|-\d{8,10})?(?:\.gz)?$|\.parquet$")
_REMOTE = re.compile(r"^(?:s3|s3a|gs|gcs|r2|az|azure|abfss|https?)://", re.I)


@dataclass(frozen=True)
class LogFiles:
    """Resolved inputs, split by reader: JSON Lines (plain or gzip) and Parquet."""

    jsonl: tuple[str, ...]
    parquet: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.jsonl) + len(self.parquet)


def _is_parquet(name: str) -> bool:
    return name.lower().endswith(".parquet")


def _walk(root: Path, found: list[str]) -> None:
    base_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):  # os.walk does not follow symlinked directories
        if len(Path(dirpath).parts) - base_depth >= MAX_DEPTH:
            dirnames[:] = []
        dirnames.sort()
        for name in sorted(filenames):
            if LOG_NAME.search(name) and (Path(dirpath) / name).is_file():
                found.append(str(Path(dirpath) / name))
                _check_count(found, str(root))


def _check_count(found: list[str], where: str) -> None:
    if len(found) > MAX_FILES:
        raise UsageError(f"more than {MAX_FILES} log files; narrow the glob or directory", file=where)


def _rotations(path: Path) -> list[str]:
    """``path`` and its logrotate siblings (``path.1``, ``path.2.gz``, ``path-20261127.gz``)."""
    out = [str(path)] if path.is_file() else []
    if path.parent.is_dir():
        pat = re.compile(re.escape(path.name) + r"(?:\.\d{1,6}|-\d{8,10})(?:\.gz)?$")
        out += sorted(str(p) for p in path.parent.iterdir() if pat.fullmatch(p.name) and p.is_file())
    return out


def resolve_logs(args: Sequence[str], env: Mapping[str, str] | None = None) -> LogFiles:
    """The files named by ``args`` (or by ``$LLMOPS_LOG`` and its rotations when ``args`` is empty)."""
    env = settings.environ() if env is None else env
    found: list[str] = []
    if not args:
        default = env.get(settings.LOG.name, "").strip()
        if not default:
            raise UsageError("no logs given: pass LOGS (files, directories, globs) or set LLMOPS_LOG")
        if _REMOTE.match(default) or (has_glob(default) and not os.path.lexists(default)):
            args = [default]
        else:
            found = _rotations(Path(default))
            if not found:
                raise NotFoundError("no request log at $LLMOPS_LOG", file=default)
    for arg in args:
        if _REMOTE.match(arg) or os.path.isfile(arg):
            found.append(arg)
        elif os.path.isdir(arg):
            before = len(found)
            _walk(Path(arg), found)
            if len(found) == before:
                raise NotFoundError("no *.jsonl, *.jsonl.gz or *.parquet file in this directory", file=arg)
        elif has_glob(arg):
            matches = expand_glob(arg, max_matches=MAX_FILES)
            if not matches:
                raise NotFoundError("no file matches this pattern", file=arg)
            found += matches
        else:
            raise NotFoundError("no such log file", file=arg)
        _check_count(found, arg)
    unique = unique_real(found)
    return LogFiles(
        jsonl=tuple(f for f in unique if not _is_parquet(f)),
        parquet=tuple(f for f in unique if _is_parquet(f)),
    )
