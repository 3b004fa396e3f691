"""Paths named by untrusted input: one glob expander that cannot loop, and writes kept inside a root.

:func:`expand_glob` is the one glob expander of llmops (``usage`` log arguments and ``$LLMOPS_LOG``, importer
``file://`` globs). Python's :mod:`glob` follows symbolic links to directories, so ``logs/**`` over a link
to ``..`` walks until the path is too long; this one

* matches each path segment with :func:`fnmatch.fnmatchcase` like :mod:`glob` (``*``, ``?``, ``[…]``; a leading
  ``.`` is matched only by a pattern segment that starts with ``.``; ``**`` alone in a segment is any number
  of directories, hidden ones excepted);
* never descends into a directory it reached through a symbolic link matched by a wildcard (links the pattern
  names literally, such as ``logs`` in ``logs/**``, are followed: they were named on purpose);
* returns each file once, by real path: a link to a file already selected (``current.jsonl`` → the rotated
  file) is left out, the first name in sorted order kept;
* is bounded: at most ``max_matches`` files, ``max_depth`` directory levels under ``**`` and
  :data:`MAX_ENTRIES` directory entries looked at, else :class:`~llmops_cli.errors.UsageError`.

:func:`confined` is the check before a write: the destination, links resolved, must stay inside the root.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable

from .errors import UsageError

GLOB_CHARS = re.compile(r"[*?\[]")
MAX_ENTRIES = 1_000_000
MAX_DEPTH = 32


def has_glob(text: str) -> bool:
    """Whether ``text`` holds a wildcard (``*``, ``?`` or ``[``)."""
    return GLOB_CHARS.search(text) is not None


class _Budget:
    def __init__(self, pattern: str, max_matches: int) -> None:
        self.pattern = pattern
        self.max_matches = max_matches
        self.entries = 0

    def look(self, n: int) -> None:
        self.entries += n
        if self.entries > MAX_ENTRIES:
            raise UsageError(f"{self.pattern}: the pattern looks at more than {MAX_ENTRIES:,} directory entries")


def _entries(path: str, budget: _Budget) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path or ".") as it:
            items = sorted(it, key=lambda e: e.name)
    except OSError:
        return []
    budget.look(len(items))
    return items


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _hidden_ok(name: str, segment: str) -> bool:
    return not name.startswith(".") or segment.startswith(".")


def _expand(base: str, segments: list[str], depth: int, budget: _Budget, out: list[str]) -> None:
    if not segments:
        out.append(base)
        return
    seg, rest = segments[0], segments[1:]
    if seg == "**":
        _expand(base, rest, depth, budget, out)  # zero directories
        if depth >= MAX_DEPTH:
            return
        for entry in _entries(base, budget):
            if entry.name.startswith("."):
                continue
            if _is_dir(entry):
                _expand(_join(base, entry.name), segments, depth + 1, budget, out)
            elif not rest:
                out.append(_join(base, entry.name))  # a trailing ** matches files too
        return
    if not has_glob(seg):
        path = _join(base, seg)
        if rest and not os.path.isdir(path):
            return
        if not rest and not os.path.lexists(path):
            return
        _expand(path, rest, depth, budget, out)
        return
    for entry in _entries(base, budget):
        if not fnmatch.fnmatchcase(entry.name, seg) or not _hidden_ok(entry.name, seg):
            continue
        if rest and not _is_dir(entry):
            continue  # a link to a directory matched by a wildcard is not followed
        _expand(_join(base, entry.name), rest, depth, budget, out)


def _join(base: str, name: str) -> str:
    return name if base == "" else os.path.join(base, name)


def expand_glob(
    pattern: str,
    *,
    max_matches: int,
    keep: Callable[[str], bool] = os.path.isfile,
) -> list[str]:
    """The files matching ``pattern`` (see the module docstring), sorted, each real file once.

    ``keep`` filters the matches (default: regular files, links to them included).
    """
    budget = _Budget(pattern, max_matches)
    absolute = os.path.isabs(pattern)
    parts = [p for p in pattern.split(os.sep) if p not in ("", ".")]
    matches: list[str] = []
    _expand(os.sep if absolute else "", parts, 0, budget, matches)
    seen: set[str] = set()
    out: list[str] = []
    for path in sorted(matches):
        if not keep(path):
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        out.append(path)
        if len(out) > max_matches:
            raise UsageError(f"{pattern}: matches more than {max_matches:,} files; narrow the pattern")
    return out


def unique_real(paths: list[str]) -> list[str]:
    """``paths`` without a second name of a file already listed (links resolved), order kept."""
    seen: set[str] = set()
    out = []
    for p in paths:
        real = os.path.realpath(p) if "://" not in p else p
        if real not in seen:
            seen.add(real)
            out.append(p)
    return out


def confined(root: str | os.PathLike[str], rel: str) -> str:
    """``root/rel``, refused (:class:`UsageError`) when it — symbolic links resolved — is not inside ``root``
    (a linked ``evals/`` or requirements file pointing elsewhere) or ``rel`` is absolute or climbs out."""
    root_s = os.fspath(root)
    if os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
        raise UsageError(f"{rel}: not a relative path inside {root_s} (refused)")
    dest = os.path.join(root_s, rel)
    real_root = os.path.realpath(root_s)
    real = os.path.realpath(dest)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise UsageError(f"{dest}: a symbolic link leads outside {root_s} (refused; llmops writes only inside it)")
    return dest
