"""``llmops release promote NAME --to CHANNEL --finish``, held to the canary verdict.

With request logs at hand (``--logs`` or ``$LLMOPS_LOG``) the verdict of ``llmops usage compare`` for NAME on
CHANNEL is computed first: while it is ABORT the finish is refused (exit 1) unless ``force``; the verdict, and
whether it was forced over, is written into the move commit, so the channel history shows who finished a
canary the evidence said to abort. Without logs the finish goes ahead and records that no verdict was made.
"""

from __future__ import annotations

import os
from typing import Any

from ..config import CanaryConfig
from ..errors import CheckFailed
from ..settings import LOG
from .verdict import CanaryVerdict


def verdict_for_finish(
    name: str, channel: str, logs: list[str], *, cfg: CanaryConfig, skip_invalid: bool = False
) -> CanaryVerdict | None:
    """The canary verdict from ``logs`` (or ``$LLMOPS_LOG``); None when neither names any log."""
    from ..errors import NotFoundError
    from .engine import open_records
    from .logfiles import resolve_logs
    from .verdict import canary_verdict

    if not logs and not LOG.raw():
        return None
    try:
        files = resolve_logs(logs)
    except NotFoundError:
        if logs:
            raise
        return None  # $LLMOPS_LOG names no file here (set for serving, not for this shell): no verdict
    recs = open_records(files, skip_invalid=skip_invalid)
    recs.materialize()
    return canary_verdict(recs, channel, name, cfg)


def finish_canary(
    name: str,
    channel: str,
    *,
    logs: list[str],
    force: bool = False,
    root: str | os.PathLike[str] | None = None,
    reason: str = "",
    push: bool = False,
    remote: str = "origin",
    skip_invalid: bool = False,
) -> tuple[Any, CanaryVerdict | None]:
    """Finish ``name``'s canary on ``channel`` unless its verdict is ABORT (``force`` overrides, recorded)."""
    from ..releases.canary_moves import change_canary
    from ..releases.create import split_ref
    from .verdict import project_canary_config

    prompt, _ = split_ref(name)
    verdict = verdict_for_finish(
        prompt, channel, logs, cfg=project_canary_config(str(root) if root else None), skip_invalid=skip_invalid
    )
    decision = verdict.verdict if verdict else None
    if decision == "ABORT" and not force:
        raise CheckFailed(
            f"not finishing: the canary verdict is {verdict.line() if verdict else 'ABORT'} "
            "(--force finishes anyway and records it in the channel history)"
        )
    record = {"decision": decision, "forced": decision == "ABORT" and force}
    moved = change_canary(
        name, channel, finish=True, root=root, reason=reason, push=push, remote=remote, verdict=record
    )
    return moved, verdict


__all__ = ["finish_canary", "verdict_for_finish"]
