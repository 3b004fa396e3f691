"""What an import did: files written, constructs mapped, and every construct that was not (or not exactly)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..records.import_report import FileAction, FileWritten, GapKind, GapRecord, ImportReportRecord

__all__ = ["FileAction", "Gap", "GapKind", "ImportReport"]


@dataclass(frozen=True)
class Gap:
    """One construct of the source that llmops does not express, or expresses with a stated difference.

    ``unmapped``: not imported (a JavaScript assertion, a custom provider, a transform…); imported cases it
    applied to carry a marker that ``llmops prompt lint`` reports. ``approximated``: imported, but the meaning
    differs in the way ``detail`` says.
    """

    kind: GapKind
    file: str
    path: str  # YAML path in the source, e.g. ``tests[2].assert[0]``
    line: int | None
    construct: str
    detail: str = ""

    def location(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} ({self.path})" if self.path else where

    def marker(self) -> str:
        """The short line stored in an imported case's ``metadata.import.unmapped``."""
        text = f"{self.construct} at {self.location()}"
        return f"{text}: {self.detail}" if self.detail else text

    def record(self) -> GapRecord:
        """As the import report writes it."""
        return GapRecord(
            kind=self.kind,
            file=self.file,
            path=self.path,
            line=self.line,
            construct_=self.construct,
            detail=self.detail,
        )


@dataclass
class ImportReport:
    """The outcome of importing one or more source files into a project."""

    format: str
    sources: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    cases: int = 0
    files: list[tuple[str, FileAction]] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    mapped: Counter[str] = field(default_factory=Counter)
    gaps: list[Gap] = field(default_factory=list)
    dry_run: bool = False

    @property
    def unmapped(self) -> list[Gap]:
        return [g for g in self.gaps if g.kind == "unmapped"]

    @property
    def approximated(self) -> list[Gap]:
        return [g for g in self.gaps if g.kind == "approximated"]

    def record(self) -> ImportReportRecord:
        """The report as a typed record (``llmops import --format json``)."""
        return ImportReportRecord(
            format=self.format,
            sources=self.sources,
            dry_run=self.dry_run,
            prompts=self.prompts,
            cases=self.cases,
            aliases=self.aliases,
            files=[FileWritten(path=p, action=a) for p, a in self.files],
            mapped=dict(sorted(self.mapped.items())),
            unmapped=[g.record() for g in self.unmapped],
            approximated=[g.record() for g in self.approximated],
        )

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON form."""
        return self.record().to_dict()
