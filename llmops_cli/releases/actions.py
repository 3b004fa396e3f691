"""Library entry points of ``llmops release history``, ``export`` and ``record-gate``: find the repository,
do the work, push when asked (``create`` and ``promote`` live in :mod:`.create`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..git import discover
from .create import split_ref
from .gate_record import NOTES_REF, read_gate_file, record_note

if TYPE_CHECKING:
    from .channels import ChannelMove
    from .gate_record import GateRecord


def channel_history(root: str | os.PathLike[str] | None, name: str, channel: str | None = None) -> list[ChannelMove]:
    """Every move of ``name``'s channels (or of ``channel`` alone), newest first."""
    from . import channels as ch

    repo = discover(root)
    names = [channel] if channel else sorted(ch.all_channels(repo, name).get(name, {}))
    moves = [m for c in names for m in ch.history(repo, name, c)]
    moves.sort(key=lambda m: m.moved_at, reverse=True)
    return moves


@dataclass(frozen=True)
class ExportResult:
    path: Path
    releases: int
    prompts: int


def export_bundle(
    root: str | os.PathLike[str] | None, refs: list[str] | None, out: str | os.PathLike[str]
) -> ExportResult:
    """Write a bundle of the verified releases ``refs`` select (NAME or NAME@RANGE; None: all) to ``out``."""
    from .bundle import build_bundle, write_bundle

    repo = discover(root)
    selections = [split_ref(r) for r in refs] if refs else None
    bundle = build_bundle(repo, selections)
    path = write_bundle(bundle, out)
    count = sum(len(p["releases"]) for p in bundle["prompts"].values())
    return ExportResult(path, count, len(bundle["prompts"]))


@dataclass(frozen=True)
class RecordResult:
    record: GateRecord
    commit: str


def record_gate(
    root: str | os.PathLike[str] | None, file: str | os.PathLike[str], commit: str | None = None
) -> RecordResult:
    """Store the verdict of a gate or eval results file as a git note on its commit (default: the file's
    ``run.git_sha``)."""
    repo = discover(root)
    rec = read_gate_file(file)
    return RecordResult(rec, record_note(repo, rec, commit))


def push_gate_notes(root: str | os.PathLike[str] | None, remote: str = "origin") -> str:
    """Push ``refs/notes/llmops`` to ``remote``; returns the ref pushed (GitError with git's message)."""
    discover(root).push(remote, f"{NOTES_REF}:{NOTES_REF}")
    return NOTES_REF
