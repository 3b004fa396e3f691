"""One structural difference between two prompt versions, and how values are shown in its sentence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    """One structural difference. ``subject`` names what changed (``params.temperature``)."""

    kind: str
    subject: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "text": self.text}


def fmt(value: Any) -> str:
    """A value as a reviewer reads it (JSON, compact)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    except TypeError:
        return repr(value)
