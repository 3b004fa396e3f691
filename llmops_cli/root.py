"""Where the project is: the one rule that finds its root, below every layer that reads it (project, git)."""

from __future__ import annotations

import os
from pathlib import Path

from . import settings
from .config import CONFIG_FILE
from .errors import UsageError

__all__ = ["find_root"]


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The project root: ``$LLMOPS_ROOT``, else the nearest folder upwards holding ``llmops.yaml``,
    else the nearest holding ``prompts/``, else ``start`` itself."""
    env = settings.ROOT.raw()
    try:
        if env and start is None:
            return Path(env).resolve()
        here = Path(start or os.getcwd()).resolve()
        candidates = [here, *here.parents]
        for d in candidates:
            if (d / CONFIG_FILE).is_file():
                return d
        for d in candidates:
            if (d / "prompts").is_dir():
                return d
            if (d / ".git").exists():
                break
        return here
    except OSError as exc:
        raise UsageError(f"cannot use {str(start or env)[:200]!r} as the project root: {exc.strerror}") from None
