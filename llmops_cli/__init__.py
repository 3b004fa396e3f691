"""llmops: prompts as code.

Serving code::

    from llmops_cli import load_prompt

    p = load_prompt("support/answer")                    # working tree (development)
    p = load_prompt("support/answer", version="^1.3")    # a release, from git tags
    p = load_prompt("support/answer", version="production", bundle="prompts.lock.json")  # no git
    request = p.render(question="…", context=["…"])
    request.messages, request.model, request.params, p.name, p.version, p.sha256, p.git_sha

Importing this package loads neither typer, rich nor litellm; submodules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    CheckFailed,
    ConfigError,
    GitError,
    IntegrityError,
    InternalError,
    LlmopsError,
    NotFoundError,
    PromptFileError,
    ProviderError,
    SandboxViolation,
    TemplateError,
    UsageError,
    UserError,
    VariablesError,
)

if TYPE_CHECKING:
    from .project import Project
    from .prompt import Prompt, RenderedPrompt
    from .releases.loader import load_prompt

__all__ = [
    "CheckFailed",
    "ConfigError",
    "GitError",
    "IntegrityError",
    "InternalError",
    "LlmopsError",
    "NotFoundError",
    "Project",
    "Prompt",
    "PromptFileError",
    "ProviderError",
    "RenderedPrompt",
    "SandboxViolation",
    "TemplateError",
    "UsageError",
    "UserError",
    "VariablesError",
    "__version__",
    "load_prompt",
]

_LAZY = {
    "load_prompt": ".releases.loader",
    "Project": ".project",
    "Prompt": ".prompt",
    "RenderedPrompt": ".prompt",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmops_cli' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
