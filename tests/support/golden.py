"""Golden-output files: compare whole human-facing output with ``tests/golden/*``, rewrite them on request.

A golden file holds exactly what a user sees, after a few narrow, documented substitutions of the parts that
are genuinely volatile from one run to the next (see :class:`Scrubber`). Without the update flag a mismatch
fails with a unified diff; with ``pytest --update-goldens`` (or ``LLMOPS_UPDATE_GOLDENS=1``) the files are
rewritten — review the resulting ``git diff tests/golden`` like any other change of user-facing output.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
UPDATE_ENV = "LLMOPS_UPDATE_GOLDENS"

# Output as a user with a plain 100-column terminal sees it (and CI logs show it); dates in UTC like on CI runners.
GOLDEN_ENV = {"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb", "TZ": "UTC"}

# ISO-8601 timestamps (tag dates, channel moves): "2026-11-27T19:49:21+00:00" and "...Z".
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


class GoldenMismatch(AssertionError):
    """The output differs from its golden file."""


def update_requested(flag: bool = False) -> bool:
    """``--update-goldens`` was given, or ``LLMOPS_UPDATE_GOLDENS=1`` is set."""
    return flag or os.environ.get(UPDATE_ENV, "") == "1"


@dataclass
class Scrubber:
    """Replaces the volatile parts of an output with stable placeholders.

    Only two kinds of substitution exist, so a refactor cannot hide behind them:

    * exact values known to the test (the temporary directory, the loopback server's URL, commit SHAs and
      their abbreviations, run ids), each with a named placeholder — longest first;
    * timestamps in ISO-8601 form (``<date>``, padded to the same width so that table columns keep theirs).
    """

    exact: list[tuple[str, str, bool]] = field(default_factory=list)

    def add(self, value: str, placeholder: str, *, hex_word: bool = False) -> Scrubber:
        """Replace ``value`` by ``placeholder``; with ``hex_word`` only where no hex digit adjoins it."""
        if value:
            self.exact.append((value, placeholder, hex_word))
        return self

    def add_sha(self, sha: str, label: str) -> Scrubber:
        """A full commit SHA and the abbreviations the CLI prints (12 and 7 hex digits)."""
        self.add(sha, f"<{label}-sha>", hex_word=True)
        self.add(sha[:12], f"<{label}:12>".ljust(12, "."), hex_word=True)
        return self.add(sha[:7], f"<{label}:7>", hex_word=True)

    def __call__(self, text: str) -> str:
        for value, placeholder, hex_word in sorted(self.exact, key=lambda e: -len(e[0])):
            if hex_word:
                text = re.sub(rf"(?<![0-9a-f]){re.escape(value)}(?![0-9a-f])", placeholder, text)
            else:
                text = text.replace(value, placeholder)
        return _ISO_DATE.sub(lambda m: "<date>".ljust(len(m.group()), "."), text)


def scrub_latency_column(text: str, header: str = "P50/P95 MS") -> str:
    """Blank the latency cells of the eval summary table (milliseconds measured on this machine).

    The table is plain columns: the header's offset marks the column in every row below it, up to the
    verdict line. Cells keep their width, so the alignment of the rest of the row is still checked.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        start = line.find(header)
        if start < 0:
            continue
        for j in range(i + 1, len(lines)):
            row = lines[j]
            m = re.match(r"(\d+|—)/(\d+|—)( *)", row[start:])
            if not m:
                break
            cell = "<ms>/<ms>" if m.group(1, 2) != ("—", "—") else "—/—"
            width = max(len(m.group()), len(cell) + 1) if m.group(3) else len(cell)
            lines[j] = row[:start] + cell.ljust(width) + row[start + len(m.group()) :]
    return "\n".join(lines)


def check_golden(name: str, actual: str, *, update: bool = False, directory: Path = GOLDEN_DIR) -> None:
    """Compare ``actual`` with ``directory/name``; rewrite the file instead when ``update`` is true.

    Raises :class:`GoldenMismatch` with a unified diff (expected → actual) when they differ.
    """
    path = directory / name
    if not actual.endswith("\n"):
        actual += "\n"
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != actual:
            path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        raise GoldenMismatch(f"no golden file {path}; create it with `pytest --update-goldens` and review it")
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"tests/golden/{name} (expected)",
                tofile=f"{name} (actual output)",
            )
        )
        raise GoldenMismatch(
            f"output differs from tests/golden/{name}:\n{diff}\n"
            f"If the change is intended, rerun with `pytest --update-goldens` (or {UPDATE_ENV}=1) and review "
            "`git diff tests/golden`."
        )


def transcript(args: tuple[str, ...], exit_code: int, stdout: str, stderr: str | None = None) -> str:
    """One golden text: the command, its exit code, stdout and (when given) stderr."""
    parts = [f"$ llmops {' '.join(args)}", f"[exit {exit_code}]", "--- stdout ---", stdout.rstrip("\n")]
    if stderr is not None:
        parts += ["--- stderr ---", stderr.rstrip("\n")]
    return "\n".join(parts) + "\n"
