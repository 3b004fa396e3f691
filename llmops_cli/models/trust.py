"""Which ``api_base`` may receive a key: the pairings of alias, URL and key variable a base branch trusts.

The key rule (:mod:`.targets`) already sends a key to an ``api_base`` only when the alias that names the
URL also names the key's variable (``api_key_env``). That pairing is written in ``llmops.yaml``, which a
pull request (or an import) can change: ``api_base: http://attacker/v1`` next to ``api_key_env:
GITHUB_TOKEN`` would send the token there. So ``eval run`` and ``eval gate`` also ask whether the pairing
is **trusted** — whether the base branch's ``llmops.yaml`` already had exactly that alias with exactly that
URL and variable. A pairing that is new or changed gets no key (the placeholder is sent, see
:data:`.targets.PLACEHOLDER_KEY`) and a notice says which alias and why.

Where the trusted pairings come from:

* ``eval gate --base REF`` and ``eval run --base REF`` (or ``--changed-since REF``): ``llmops.yaml`` as
  committed at ``merge-base(REF, HEAD)``;
* ``eval run`` in a pull-request job (``GITHUB_BASE_REF`` set) with no base: nothing is trusted, because
  the working tree is the pull request's own;
* ``eval run`` anywhere else (a developer's checkout, a push to the default branch): the working tree's
  ``llmops.yaml`` — the user's own file (:data:`TRUST_ALL`).

Offline stand-ins are checked under their own alias name. ``--api-base`` already never carries a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .. import settings

if TYPE_CHECKING:
    from ..config import ProjectConfig

# GitHub Actions sets it in pull_request / pull_request_target jobs only: the working tree is the PR's.
PR_BASE_ENV = settings.GITHUB_BASE_REF.name


@dataclass(frozen=True, order=True)
class KeyPairing:
    """An alias that pairs a base URL with the NAME of a key's environment variable."""

    alias: str
    api_base: str
    api_key_env: str


@dataclass(frozen=True)
class KeyTrust:
    """The pairings that may carry a key, and where they were read (for notices)."""

    pairings: frozenset[KeyPairing] | None  # None: every pairing of the working tree (a user's own file)
    source: str

    def allows(self, alias: str, api_base: str, api_key_env: str) -> bool:
        return self.pairings is None or KeyPairing(alias, api_base, api_key_env) in self.pairings


TRUST_ALL = KeyTrust(None, "the working tree's llmops.yaml")


def pairings_of(config: ProjectConfig) -> frozenset[KeyPairing]:
    """Every alias of ``config`` that pairs an ``api_base`` with an ``api_key_env``."""
    return frozenset(
        KeyPairing(name, a.api_base, a.api_key_env) for name, a in config.models.items() if a.api_base and a.api_key_env
    )


def trust_of(config: ProjectConfig, source: str) -> KeyTrust:
    """The pairings of a base branch's configuration."""
    return KeyTrust(pairings_of(config), source)


def in_pull_request() -> bool:
    """Whether this process runs in a pull-request CI job (the working tree is the PR's, not trusted)."""
    return bool(settings.GITHUB_BASE_REF.text())


NO_TRUST = KeyTrust(
    frozenset(), f"nothing: a pull-request job ({PR_BASE_ENV} is set) without --base, whose llmops.yaml is the PR's"
)


def show_url(url: str) -> str:
    """A URL for a message: scheme, host, port and path, never user information or a query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"[:200]


def withheld_notice(alias: str, api_base: str, api_key_env: str, trust: KeyTrust) -> str:
    """The line shown when a key is withheld from an alias's URL."""
    return (
        f"models.{alias}: the key in {api_key_env} is NOT sent to {show_url(api_base)}: this pairing of alias, "
        f"api_base and api_key_env is not in {trust.source} (new or changed); the request carries a placeholder. "
        "Merge the llmops.yaml change on the base branch first to trust it."
    )
