"""The one exception tree of llmops, and the exit code each branch maps to.

::

    LlmopsError                  base of everything llmops raises on purpose
    ├── UserError                exit 2: bad input or usage; the message names file (and line)
    │   ├── UsageError           command-line arguments that do not fit
    │   ├── ConfigError          llmops.yaml is missing a key, malformed or contradictory
    │   ├── PromptFileError      a prompt / golden-set file does not parse or validate
    │   │   └── ToolFileError    a prompt's tools: tool file missing/outside its folder/invalid, unknown or
    │   │                        duplicate tool, tool_choice naming an undeclared tool
    │   ├── TemplateError        Jinja syntax error, undefined variable, missing include, a limit hit
    │   │   ├── TemplatePathError a template file or partial outside its folder (``..``, ``.git``, symlink)
    │   │   └── SandboxViolation a template reached for an unsafe attribute (``__class__``, ``mro``…)
    │   ├── VariablesError       render variables missing, unknown or wrongly typed
    │   ├── NotFoundError        a prompt, case, file or release that does not exist
    │   ├── GitError             not a repository, unknown ref, dirty tree where a clean one is needed
    │   ├── ProviderError        a model provider call that cannot be made (unknown model, missing extra)
    │   └── IntegrityError       a bundle or tag whose content hash does not match
    ├── CheckFailed              exit 1: a check ran and found problems (lint errors, failed asserts, gate FAIL)
    │   └── GuardBlocked         a serving guard blocked a call (no request made when it blocked the input)
    └── InternalError            exit 3: a bug in llmops; reported with a hint to rerun with --verbose

Catch :class:`UserError` around calls that take user-supplied files; catch :class:`LlmopsError` to
handle anything llmops raises deliberately. Any other exception escaping the CLI is a bug and is
reported as an internal error (exit 3). The CLI maps exceptions to exit codes in exactly one place
(:func:`exit_code_for`).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class LlmopsError(Exception):
    """Base class of every error llmops raises on purpose."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def location(self) -> str:
        """``file:line`` (or just ``file``) for messages; empty when unknown."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""

    def __str__(self) -> str:
        from .redact import redact  # every message llmops raises is redacted (keys, tokens)

        loc = self.location()
        return redact(f"{loc}: {self.message}" if loc else self.message)


class UserError(LlmopsError):
    """Bad input or usage; the user can fix it. Exit code 2."""

    exit_code = EXIT_USAGE


class UsageError(UserError):
    """A command was called with arguments that do not make sense together."""


class ConfigError(UserError):
    """``llmops.yaml`` is malformed or inconsistent."""


class PromptFileError(UserError):
    """A prompt or golden-set file does not parse or does not validate against its schema."""


class ToolFileError(PromptFileError):
    """A prompt's ``tools``: a tool file that is missing, outside its folder or invalid; an unknown or duplicate
    tool; a ``tool_choice`` naming a tool the prompt does not declare."""

    code = "tools"


class TemplateError(UserError):
    """A Jinja template has a syntax error, uses an undefined variable or includes a missing file."""


class TemplatePathError(TemplateError):
    """A ``template:`` file or partial outside its folder, under ``.git``, or a symbolic link out of it."""

    code = "template-path"


class SandboxViolation(TemplateError):
    """A template tried to reach an attribute the sandbox forbids (``__class__``, ``mro``, …)."""


class VariablesError(UserError):
    """Render variables are missing, unknown or of the wrong type. ``problems`` lists each one."""

    def __init__(self, message: str, problems: list[str], **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.problems = problems


class NotFoundError(UserError):
    """A prompt, golden case, file, ref or release that does not exist."""


class GitError(UserError):
    """Git-related user error: not a repository, unknown ref, uncommitted changes."""


class ProviderError(UserError):
    """A model call that cannot be made as configured (unknown alias, missing optional extra)."""


class IntegrityError(UserError):
    """Content whose sha256 does not match what was recorded (tampered bundle, moved tag)."""


class CheckFailed(LlmopsError):
    """A check ran to completion and found problems. Exit code 1."""

    exit_code = EXIT_CHECK_FAILED


class GuardBlocked(CheckFailed):
    """A serving guard blocked a call (``load_prompt(..., guards=...)``): an input block means no request was
    made. The message names the guard and what it found (detector names and counts, never the values)."""


class InternalError(LlmopsError):
    """A bug in llmops. Exit code 3."""

    exit_code = EXIT_INTERNAL


def exit_code_for(exc: BaseException) -> int:
    """The process exit code for an exception: the single mapping used by the CLI."""
    if isinstance(exc, LlmopsError):
        return exc.exit_code
    return EXIT_INTERNAL
