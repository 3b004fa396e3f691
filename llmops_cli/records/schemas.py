"""JSON Schemas of the ops records, generated from the models and published in ``schemas/``.

    python -m llmops_cli.records.schemas --write     # rewrite schemas/*.schema.json of the records below

A test checks that each committed file equals :func:`json_schema` of its record and that the fixtures written
by older llmops validate against it. A record checks more than its schema can say (bounds of a canary percent,
the version inside ``"schema": "llmops.release/1"``), so a document the schema accepts may still be refused on
load — never the other way round.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .base import Record
from .releases import Bundle, BundleCanary, ChannelMoveRecord, ReleaseManifest
from .requests import RequestRecord

__all__ = ["SCHEMAS", "json_schema", "schema_text"]

#: The published schema files (relative to the repository root) and their records.
SCHEMAS: dict[str, tuple[type[Record], str]] = {
    "schemas/request-record.schema.json": (RequestRecord, "llmops request record (one JSON line per serving call)"),
    "schemas/release-manifest.schema.json": (ReleaseManifest, "llmops release manifest (in a release tag)"),
    "schemas/channel-move.schema.json": (ChannelMoveRecord, "llmops channel move (the body of a move commit)"),
    "schemas/bundle.schema.json": (Bundle, "llmops release bundle (prompts.lock.json)"),
    "schemas/bundle-canary.schema.json": (BundleCanary, "llmops bundled canary (canaries[channel] of a bundle)"),
}


def json_schema(record: type[Record], title: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``record`` as it is read (aliases used)."""
    schema = record.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": title}


def schema_text(record: type[Record], title: str) -> str:
    """The file's text: sorted keys, two-space indent, a final newline."""
    return json.dumps(json_schema(record, title), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    stale = []
    for rel, (record, title) in SCHEMAS.items():
        text = schema_text(record, title)
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(rel)
            if "--write" in argv:
                path.write_text(text, encoding="utf-8")
    for rel in stale:
        print(("rewrote " if "--write" in argv else "stale: ") + rel)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
