"""The published JSON Schemas of the records, generated from the record classes (draft 2020-12).

``python -m llmops_cli.records.schemas`` rewrites every file of :data:`SCHEMAS` under ``schemas/`` (``--check``:
exit 1 when one differs); a test checks that the checked-in files equal :func:`json_schema`. The records check
more than a schema can say (names without control characters or ``..``, judge errors ≤ judge samples, unique
samples, judge counts that agree with the scores), so a file the schema accepts may still be refused on load —
never the other way round.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema

from .base import Record
from .gate_report import GateReportRecord
from .import_report import ImportReportRecord
from .results import EvalResults

__all__ = ["SCHEMAS", "json_schema", "schema_text"]

SCHEMAS: dict[str, tuple[type[Record], str]] = {
    "schemas/results.schema.json": (EvalResults, "llmops eval results file"),
    "schemas/gate-report.schema.json": (GateReportRecord, "llmops eval gate report"),
    "schemas/import-report.schema.json": (ImportReportRecord, "llmops import report"),
}
"""Checked-in schema file -> (its record class, its title)."""


class _Published(GenerateJsonSchema):
    """Pydantic's generator without the per-field ``title`` noise; descriptions kept."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        out = super().generate(schema, mode=mode)
        for d in out.get("$defs", {}).values():
            d.pop("title", None)
        out.pop("title", None)
        return out


def json_schema(cls: type[Record], title: str) -> dict[str, Any]:
    """The JSON Schema of a record class as published."""
    body = cls.model_json_schema(schema_generator=_Published, mode="validation")
    defs = body.pop("$defs", {})
    header = [k for k in ("schema_version", "kind") if k in body.get("properties", {})]
    body["required"] = [*header, *body.get("required", [])]  # a file always names its version (and kind)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        **body,
        "$defs": dict(sorted(defs.items())),
    }


def schema_text(file: str) -> str:
    """The text of one published schema file."""
    cls, title = SCHEMAS[file]
    return json.dumps(json_schema(cls, title), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write (or with ``--check`` compare) every schema file under the current folder."""
    check = "--check" in argv
    stale = []
    for file in SCHEMAS:
        path = Path(file)
        text = schema_text(file)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(file)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for file in stale:
        sys.stdout.write(f"{'out of date' if check else 'wrote'}: {file}\n")
    return 1 if check and stale else 0


if __name__ == "__main__":  # python -m llmops_cli.records.schemas [--check]
    sys.exit(main(sys.argv[1:]))
