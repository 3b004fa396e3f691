"""Which prompts and cases a run covers: ``--changed-since REF`` and ``--shard I/N``."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from ..errors import LlmopsError, UsageError
from ..hashing import sha256_of
from .assertions import JUDGE_TYPES

if TYPE_CHECKING:
    from ..project import Project


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` → ``(2, 4)``; :class:`UsageError` unless ``1 <= I <= N``."""
    try:
        i_s, n_s = text.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise UsageError(f"--shard takes I/N, e.g. 1/4 (got {text!r})") from None
    if n < 1 or not 1 <= i <= n:
        raise UsageError(f"--shard {text}: need 1 <= I <= N")
    return i, n


def shard_of(prompt: str, case_id: str, n: int) -> int:
    """The 1-based shard a case belongs to: a stable hash of prompt name and case id, modulo ``n``."""
    digest = hashlib.sha256(f"{prompt}\0{case_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def judge_names(project: Project, name: str, judge_project: Project | None = None) -> list[str]:
    """Judge prompts the golden set of ``name`` uses (from its raw assertion dicts)."""
    from .judges import TYPE_PROMPTS

    gs = project.golden_set(name)
    if gs is None:
        return []
    cfg = (judge_project or project).config.judge
    names: set[str] = set()
    for raw in [*gs.defaults.asserts, *(a for c in gs.cases for a in c.asserts)]:
        if isinstance(raw, dict) and raw.get("type") in JUDGE_TYPES:
            t = raw["type"]
            names.add(str(raw.get("prompt") or (cfg.prompt if t == "judge" else TYPE_PROMPTS[t])))
    return sorted(names)


def fingerprint(project: Project, name: str) -> str | None:
    """Everything that changes a prompt's eval results: prompt hash, model alias, golden set, judges and
    judge settings. None when the prompt or its golden set is missing or broken on this side."""
    try:
        prompt = project.load(name)
        golden_file = project.golden_file(name)
        if golden_file is None:
            return None
        payload: dict[str, Any] = {
            "prompt": prompt.sha256,
            "alias": prompt.alias.model_dump(mode="json") if prompt.alias else None,
            "golden": sha256_of(project.source.read_text(golden_file)),
            "judge_config": project.config.judge.model_dump(mode="json"),
            "judges": {},
        }
        for j in judge_names(project, name):
            jp = project.load(j)
            judge_model = project.config.judge.model or jp.model_name
            _, alias = project.config.resolve_model(judge_model)
            payload["judges"][j] = {
                "sha256": jp.sha256,
                "model": judge_model,
                "alias": alias.model_dump(mode="json") if alias else None,
            }
        return sha256_of(payload)
    except LlmopsError:
        return None


def changed_prompts(project: Project, ref: str, names: list[str]) -> list[str]:
    """The prompts among ``names`` whose eval inputs differ between ``merge-base(REF, HEAD)`` and ``project``."""
    from ..git import merge_base
    from ..project import Project as _Project

    root = project.root or os.getcwd()
    base = _Project.at_ref(merge_base(root, ref), root)
    changed = []
    for name in names:
        head_fp = fingerprint(project, name)
        if head_fp is None or head_fp != fingerprint(base, name):
            changed.append(name)
    return changed
