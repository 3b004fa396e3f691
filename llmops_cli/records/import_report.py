"""The import report (``schema_version: 1``): what ``llmops import`` did — files written, constructs mapped,
and every construct that was not (or not exactly) — as ``llmops import --format json`` prints it. Built by
:class:`llmops_cli.importers.report.ImportReport`."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import ConfigDict, Field

from .base import OpenRecord

__all__ = ["IMPORT_REPORT_SCHEMA_VERSION", "FileAction", "FileWritten", "GapKind", "GapRecord", "ImportReportRecord"]

IMPORT_REPORT_SCHEMA_VERSION: Final = 1

GapKind = Literal["unmapped", "approximated"]
FileAction = Literal["created", "unchanged", "overwritten", "updated", "conflict", "would-create", "would-overwrite"]


class _ImportRecord(OpenRecord):
    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return self.model_dump(by_alias=True)


class GapRecord(_ImportRecord):
    """A construct of the source that llmops does not express, or expresses with a stated difference."""

    kind: GapKind = Field(description="unmapped (not imported) or approximated (imported, meaning differs)")
    file: str = Field(description="the source file")
    path: str = Field(description="its YAML path in the source, e.g. tests[2].assert[0]")
    line: int | None = Field(description="its line in the source, when known")
    construct_: str = Field(alias="construct", description="what it is")  # (``construct`` is pydantic's)
    detail: str = Field(description="how the import differs, or why it was not imported")


class FileWritten(_ImportRecord):
    """A file the import wrote (or would write)."""

    path: str = Field(description="the file, relative to the project")
    action: FileAction = Field(description="created, unchanged, overwritten, updated, conflict, would-…")


class ImportReportRecord(_ImportRecord):
    """The outcome of importing one or more source files into a project."""

    SCHEMA_VERSION = IMPORT_REPORT_SCHEMA_VERSION

    schema_version: Literal[1] = Field(default=IMPORT_REPORT_SCHEMA_VERSION, description="the format's version: 1")
    format: str = Field(description="the source format (promptfoo, prompty, …)")
    sources: list[str] = Field(description="the source files read")
    dry_run: bool = Field(description="nothing was written")
    prompts: list[str] = Field(description="prompts imported")
    cases: int = Field(description="golden cases imported")
    aliases: list[str] = Field(description="model aliases added to llmops.yaml")
    files: list[FileWritten] = Field(description="files written (or that would be)")
    mapped: dict[str, int] = Field(description="construct -> how many were mapped")
    unmapped: list[GapRecord] = Field(description="constructs not imported")
    approximated: list[GapRecord] = Field(description="constructs imported with a stated difference")
