"""GitHub Actions integration: the commit status ``llmops/eval`` (the step summary is
:func:`llmops_cli.evals.report.append_step_summary`).

The status goes to ``POST {GITHUB_API_URL}/repos/{owner}/{repo}/statuses/{sha}`` for the pull request's
head commit (``pull_request.head.sha`` from ``$GITHUB_EVENT_PATH``, else ``$GITHUB_SHA``), authenticated
with ``$GITHUB_TOKEN``. Standard library only (urllib), a timeout, one retry on a 5xx or a network error.
The token is only ever put in the ``Authorization`` header: never logged, printed or written.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import settings
from ..errors import UserError
from ..models.retry import Attempt, GaveUp, RetryPolicy, retrying

CONTEXT = "llmops/eval"
_CONTEXT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/()-]{0,99}$")
STATES = {"PASS": "success", "WARN": "success", "FAIL": "failure", "ERROR": "error"}
TIMEOUT_S = 10.0
RETRY_DELAY_S = 1.0


class StatusError(UserError):
    """The commit status could not be posted (missing environment, HTTP error)."""


@dataclass(frozen=True)
class StatusTarget:
    api_url: str
    repository: str
    sha: str
    target_url: str | None


def head_sha(env: Mapping[str, str]) -> str | None:
    """The PR head commit from the event payload, else ``GITHUB_SHA`` (a merge commit on pull_request)."""
    path = env.get("GITHUB_EVENT_PATH")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                event = json.load(fh)
            sha = ((event.get("pull_request") or {}).get("head") or {}).get("sha")
            if isinstance(sha, str) and sha:
                return sha
        except (OSError, ValueError, AttributeError):
            pass
    return env.get("GITHUB_SHA") or None


def status_target(env: Mapping[str, str]) -> StatusTarget:
    """Where to post, from the Actions environment; :class:`StatusError` naming what is missing."""
    missing = [k for k in ("GITHUB_TOKEN", "GITHUB_REPOSITORY") if not env.get(k)]
    sha = head_sha(env)
    if not sha:
        missing.append("GITHUB_EVENT_PATH (pull_request.head.sha) or GITHUB_SHA")
    if missing:
        raise StatusError(f"--github-status needs {', '.join(missing)} in the environment (GitHub Actions sets them)")
    repo = env["GITHUB_REPOSITORY"]
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    run_id = env.get("GITHUB_RUN_ID")
    target = f"{server}/{repo}/actions/runs/{run_id}" if run_id else None
    api = (env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    return StatusTarget(api, repo, str(sha), target)


def status_context(name: str | None) -> str:
    """A commit status context (the check's name on the PR): ``llmops/eval`` by default; :class:`UserError`
    for one that is empty, over 100 characters or outside letters, digits, space and ``._:/()-``."""
    if name is None:
        return CONTEXT
    if not _CONTEXT_RE.match(name):
        raise UserError(
            f"--status-context {name[:120]!r}: use 1-100 characters: letters, digits, space and ._:/()- "
            "(starting with a letter or digit)"
        )
    return name


def status_description(line: str) -> str:
    """A commit status description: one line, at most 140 characters."""
    from ..redact import redact

    line = " ".join(redact(line).split())
    return line if len(line) <= 140 else line[:139] + "…"


def post_status(
    state: str,
    description: str,
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = TIMEOUT_S,
    context: str | None = None,
) -> StatusTarget:
    """Post the commit status ``context`` (default ``llmops/eval``; ``state``: success, failure or error)."""
    env = settings.environ() if env is None else env
    if state not in ("success", "failure", "error", "pending"):
        raise ValueError(f"bad status state {state!r}")
    name = status_context(context)
    t = status_target(env)
    body = {"state": state, "description": status_description(description), "context": name}
    if t.target_url:
        body["target_url"] = t.target_url
    url = f"{t.api_url}/repos/{t.repository}/statuses/{t.sha}"
    data = json.dumps(body).encode()
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {env['GITHUB_TOKEN']}",
        "Content-Type": "application/json",
        "User-Agent": "llmops-cli",
        "X-GitHub-Api-Version": "2022-11-28",
    }

    def post(attempt: Attempt) -> StatusTarget:
        req = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read()
                return t
        except urllib.error.HTTPError as exc:  # the one retry policy reads a status and Retry-After
            raise _HttpStatus(exc.code, exc.headers) from None
        except TimeoutError:
            raise
        except (urllib.error.URLError, OSError) as exc:
            raise ConnectionError(type(exc).__name__) from None

    try:  # one retry on 5xx, 429, timeouts and dropped connections: the model calls' policy
        return retrying(RetryPolicy(max_retries=1, base_s=RETRY_DELAY_S, max_s=RETRY_DELAY_S), post)
    except GaveUp as failed:
        error = failed.attempt.error
        last = f"HTTP {error.status_code}" if isinstance(error, _HttpStatus) else str(error) or type(error).__name__
        raise StatusError(f"could not post the commit status to {t.api_url} for {t.sha[:12]}: {last}") from None


class _HttpStatus(Exception):
    """An HTTP error answer as the retry policy reads one (``status_code``, the response headers)."""

    def __init__(self, status: int, headers: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.headers = headers
