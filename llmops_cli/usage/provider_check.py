"""``llmops usage check``: what the provider changed under the releases in the logs — prices and deprecations.

Price change
    For each prompt version that served calls in the last 24 h, the release's baseline
    (:mod:`llmops_cli.releases.drift`, a git note recorded by ``llmops release baseline``) holds the model's
    per-token prices when the release was admitted. They are compared with litellm's price table now: any
    difference (or a model no longer priced) is a ``price-change`` finding with both prices per million tokens.
    Releases without a baseline, and runs outside a git repository, are counted in a note, never guessed.

Model deprecation
    For each model that served calls in the last 24 h, the deprecation date of litellm's table (the provider's
    published date, where litellm lists one): a ``model-deprecation`` finding when it is past or within
    ``deprecation_days`` (90) of now.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .engine import Records
from .engine import naive_utc as _naive


@dataclass
class ProviderFinding:
    kind: str  # price-change | model-deprecation
    group: dict[str, Any]
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def _per_million(x: float | None) -> str:
    return "unpriced" if x is None else f"${x * 1e6:,.4g}"


def provider_findings(
    recs: Records, now: datetime, *, root: str | os.PathLike[str] | None = None, deprecation_days: int = 90
) -> tuple[list[ProviderFinding], list[str]]:
    """Price changes since release and coming deprecations for what served calls in the last 24 h."""
    from ..models.prices import deprecation_of, price_of

    rows = recs.query(
        "SELECT prompt, version, model, count(*) FROM records WHERE ts >= $since GROUP BY ALL ORDER BY ALL LIMIT 10000",
        {"since": _naive(now - timedelta(hours=24))},
    )
    findings: list[ProviderFinding] = []
    notes: list[str] = []
    for model in sorted({r[2] for r in rows})[:1000]:
        date = deprecation_of(model)
        if date is None:
            continue
        try:
            when = datetime.fromisoformat(date).replace(tzinfo=UTC)
        except ValueError:
            continue
        days = (when - now).days
        if days <= deprecation_days:
            text = f"deprecated since {date}" if days < 0 else f"deprecated on {date} (in {days} days)"
            findings.append(
                ProviderFinding("model-deprecation", {"model": model}, f"{text} per the provider's data",
                                {"deprecation_date": date, "days_left": days})
            )  # fmt: skip
    versions = sorted({(r[0], r[1]) for r in rows if r[1] is not None})
    if not versions:
        return findings, notes
    from ..errors import GitError, UserError
    from ..releases.drift import read_baseline
    from ..versions import try_parse_version

    try:
        from ..git import discover

        repo = discover(root)
    except GitError:
        notes.append("not in a git repository: prices at release not checked")
        return findings, notes
    missing = 0
    tags_of: dict[str, Any] = {}
    for prompt, version in versions[:1000]:
        parsed = try_parse_version(version)
        if parsed is None:
            missing += 1
            continue
        if prompt not in tags_of:
            try:
                tags_of[prompt] = {str(t.version): t for t in repo.release_tags(prompt, detail=False)}
            except UserError:
                tags_of[prompt] = {}
        tag = tags_of[prompt].get(str(parsed))
        try:
            base = read_baseline(repo, repo.detailed(tag), missing_ok=True) if tag else None
        except UserError as exc:
            notes.append(f"{prompt}@{version}: baseline unreadable ({exc})")
            continue
        if base is None or base.model is None:
            missing += 1
            continue
        now_price = price_of(base.model)
        then = base.price
        old = (then.input_per_token, then.output_per_token) if then else (None, None)
        new = (now_price.input_per_token, now_price.output_per_token) if now_price else (None, None)
        if old == new:
            continue
        msg = (
            f"{base.model} price changed since release {base.recorded_at[:10]}: input {_per_million(old[0])} → "
            f"{_per_million(new[0])}, output {_per_million(old[1])} → {_per_million(new[1])} per 1M tokens"
        )
        findings.append(
            ProviderFinding("price-change", {"prompt": prompt, "version": version}, msg,
                            {"model": base.model, "price_at_release": old, "price_now": new})
        )  # fmt: skip
    if missing:
        notes.append(f"{missing} prompt version(s) in the logs have no release baseline: their prices were not checked")
    return findings, notes


__all__ = ["ProviderFinding", "provider_findings"]
