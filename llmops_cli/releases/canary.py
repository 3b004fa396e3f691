"""Canary channels: a channel serves a second release to a stable share of keys.

``llmops release promote NAME@VERSION --to production --canary 10`` keeps the channel's current release as
the **stable** arm and serves VERSION (the **canary** arm) to 10% of keys; ``--canary 50`` later raises it,
``--finish`` moves the channel to the canary version, ``--abort`` drops the canary. Each of these is one
move commit in the channel's history (:mod:`.channels`), so who, when, why, from/to and the percent are
auditable and pushed like any channel move.

Arm selection (:func:`bucket`, :func:`arm_for`) is a pure function of the prompt name, the channel and
the caller's key::

    bucket = int.from_bytes(sha256(f"{name}\\0{channel}\\0{key}".encode("utf-8")).digest()[:8], "big") % 10000
    arm    = "canary" if bucket < round(percent * 100) else "stable"

so the same key gets the same arm in every process, on every Python version and from git or a bundle
(no ``hash()``, no randomness), and raising the percent only adds keys to the canary (a key on the canary
at 10% stays on it at 50%). The bucket does not depend on the canary version: the same keys are first
in line for every canary of a prompt's channel. A load without a key gets the stable arm.

This module is pure (no git): :func:`.resolve.channel_state` reads a channel's canary,
:mod:`.canary_moves` writes one.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..errors import UsageError
from ..hashing import sha256_of
from ..records.base import RecordError, load_record
from ..records.releases import PERCENT_RULE, BundleCanary, check_percent

__all__ = ["CANARY", "STABLE", "arm_for", "bucket", "bundle_problem", "bundle_record", "check_percent", "parse_percent"]

BUCKETS = 10_000  # a key's bucket is in [0, BUCKETS); percent p covers buckets [0, p * 100)
STABLE = "stable"
CANARY = "canary"
BUNDLE_CANARY_SCHEMA = "llmops.bundle-canary/1"
_PERCENT_TEXT = re.compile(r"([0-9]{1,3})(?:\.([0-9]))?")
_PERCENT_RULE = PERCENT_RULE


# -- percent -----------------------------------------------------------------------------------------
def parse_percent(text: str, *, what: str = "--canary") -> float:
    """The canary percent given on the command line; :class:`UsageError` unless it is in (0, 100) with at
    most one decimal (``0``, ``100``, ``-1``, ``NaN``, ``1e1``, ``ten``, ``10.25`` are refused)."""
    m = _PERCENT_TEXT.fullmatch(text.strip()) if isinstance(text, str) else None
    value = float(f"{m.group(1)}.{m.group(2) or 0}") if m else None
    if value is None or not 0 < value < 100:
        raise UsageError(f"{what} must be {_PERCENT_RULE}, not {str(text)[:40]!r}")
    return value


def stored_percent(percent: float) -> int | float:
    """The JSON number a percent is recorded as: ``10`` for whole numbers, ``2.5`` otherwise."""
    return int(percent) if percent == int(percent) else percent


def threshold(percent: float) -> int:
    """Buckets below this are on the canary: ``percent * 100`` exactly (percent has one decimal at most)."""
    return round(percent * 10) * 10


# -- arms --------------------------------------------------------------------------------------------
def key_text(key: str | int) -> str:
    """The text a key is hashed as: a ``str`` as is, an ``int`` in decimal; anything else is refused."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        try:
            return str(key)
        except ValueError:  # more digits than int→str allows
            raise UsageError("key: an int key is too large; pass a string") from None
    raise UsageError(f"key must be a str or an int (a user, tenant or session id), not {type(key).__name__}")


def bucket(name: str, channel: str, key: str | int) -> int:
    """The key's bucket in [0, 10000): first 8 bytes of sha256(name NUL channel NUL key), big-endian, mod 10000."""
    data = f"{name}\0{channel}\0{key_text(key)}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big") % BUCKETS


def arm_for(name: str, channel: str, key: str | int | None, percent: float) -> str:
    """``"canary"`` when the key's bucket is below ``percent * 100``, else ``"stable"`` (also without a key)."""
    if key is None or key == "":  # an empty key is no key (an unset user id must not pick an arm)
        return STABLE
    return CANARY if bucket(name, channel, key) < threshold(percent) else STABLE


# -- bundles -----------------------------------------------------------------------------------------
def bundle_digest(name: str, channel: str, record: dict[str, Any], releases: dict[str, Any]) -> str:
    """sha256 binding a bundled canary to its channel, both releases' content hashes and its percent."""

    def content(version: Any) -> Any:
        rel = releases.get(version) if isinstance(version, str) else None
        return rel.get("sha256") if isinstance(rel, dict) else None

    stable, version = record.get("stable"), record.get("version")
    return sha256_of(
        {
            "schema": BUNDLE_CANARY_SCHEMA,
            "prompt": name,
            "channel": channel,
            "stable": stable,
            "stable_sha256": content(stable),
            "version": version,
            "version_sha256": content(version),
            "percent": record.get("percent"),
            "move": record.get("move"),
        }
    )


def bundle_record(
    name: str, channel: str, stable: str, version: str, percent: float, move: str, releases: dict[str, Any]
) -> dict[str, Any]:
    """The ``canaries[channel]`` entry of a bundle for a channel move with a canary (both releases bundled)."""
    record: dict[str, Any] = BundleCanary.model_construct(
        stable=stable, version=version, percent=stored_percent(percent), move=move, sha256=""
    ).model_dump()
    record["sha256"] = bundle_digest(name, channel, record, releases)
    return record


def bundle_problem(name: str, entry: dict[str, Any]) -> str | None:
    """Why a bundle entry's ``canaries`` cannot be trusted, or None: shape, percent, both versions bundled,
    the stable one matching ``channels``, and the digest over all of it."""
    canaries = entry.get("canaries")
    if canaries is None:
        return None
    at = f"prompts[{name[:80]!r}].canaries"
    if not isinstance(canaries, dict):
        return f"{at} is not an object"
    channels, releases = entry.get("channels") or {}, entry["releases"]
    for channel, rec in canaries.items():
        cat = f"{at}[{str(channel)[:40]!r}]"
        try:
            load_record(BundleCanary, rec, source=cat)
        except RecordError as exc:
            return f"{cat} is not a canary record (stable, version, percent, move, sha256): {exc.message}"
        if channels.get(channel) != rec["stable"]:
            return f"{cat}.stable {rec['stable'][:40]!r} is not the bundled channel's version"
        if rec["version"] == rec["stable"] or rec["version"] not in releases:
            return f"{cat}.version {rec['version'][:40]!r} is not another bundled release"
        if rec["sha256"] != bundle_digest(name, channel, rec, releases):
            return f"{cat} was modified (its sha256 does not match its stable, version, percent and releases)"
    return None
