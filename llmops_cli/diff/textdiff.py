"""Text diffs of templates and rendered messages: unified diffs, and word-level spans for terminals."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

_WORD = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class TextDiff:
    """A unified diff of one text (a message template, a partial, a rendered message)."""

    subject: str  # "message 2 (user)", "partial tone.j2", …
    old: str | None
    new: str | None
    unified: str

    def to_dict(self) -> dict[str, object]:
        return {"subject": self.subject, "unified": self.unified}


def unified(old: str | None, new: str | None, old_label: str, new_label: str, context: int = 3) -> str:
    """A unified diff (``---``/``+++`` headers), empty when the texts are equal."""
    if old == new:
        return ""
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, old_label, new_label, n=context)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def text_diff(subject: str, old: str | None, new: str | None, old_label: str, new_label: str) -> TextDiff | None:
    """A :class:`TextDiff`, or None when nothing changed."""
    if old == new:
        return None
    return TextDiff(subject, old, new, unified(old, new, old_label, new_label))


Op = Literal["equal", "delete", "insert"]


def word_diff(old: str, new: str) -> list[tuple[Op, str]]:
    """Word-level spans turning ``old`` into ``new``: ``[("equal", "Answer "), ("delete", "in"), …]``."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    spans: list[tuple[Op, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            spans.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            spans.append(("delete", "".join(a[i1:i2])))
        if j2 > j1:
            spans.append(("insert", "".join(b[j1:j2])))
    return spans


def paired_lines(unified_text: str) -> list[tuple[str, str, str | None]]:
    """Lines of a unified diff as ``(kind, text, partner)``; a ``-`` line directly replaced by a ``+``
    line gets the other as partner, so a terminal can highlight the words that changed."""
    lines = unified_text.splitlines()
    out: list[tuple[str, str, str | None]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("-") and not line.startswith("---"):
            dels = []
            while i < len(lines) and lines[i].startswith("-") and not lines[i].startswith("---"):
                dels.append(lines[i][1:])
                i += 1
            adds = []
            while i < len(lines) and lines[i].startswith("+") and not lines[i].startswith("+++"):
                adds.append(lines[i][1:])
                i += 1
            paired = len(dels) == len(adds)
            for k, d in enumerate(dels):
                out.append(("-", d, adds[k] if paired else None))
            for k, a in enumerate(adds):
                out.append(("+", a, dels[k] if paired else None))
            continue
        if line.startswith(("---", "+++")):
            out.append(("header", line, None))
        elif line.startswith("@@"):
            out.append(("hunk", line, None))
        elif line.startswith("+"):
            out.append(("+", line[1:], None))
        elif line.startswith("\\"):
            out.append(("note", line, None))
        else:
            out.append((" ", line[1:] if line.startswith(" ") else line, None))
        i += 1
    return out
