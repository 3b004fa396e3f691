"""Serving options a loaded prompt carries (``load_prompt(..., log=..., otel=...)``) and how the environment
(``LLMOPS_LOG``, ``LLMOPS_OTEL``) fills in what was not given."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import settings
from ..errors import UsageError
from .sinks import Sink, resolve_sink

if TYPE_CHECKING:
    from ..prompt import Prompt

OTEL_ENV = settings.OTEL.name
_logger = logging.getLogger("llmops_cli.serving")


@dataclass(frozen=True)
class OtelOptions:
    """OpenTelemetry on, with these providers (None: the globally configured ones)."""

    tracer_provider: Any = None
    meter_provider: Any = None


@dataclass(frozen=True)
class ServingOptions:
    """``log``: a sink, False (off, also for ``$LLMOPS_LOG``) or None (``$LLMOPS_LOG`` decides).
    ``otel``: options (on), False (off) or None (``$LLMOPS_OTEL`` decides)."""

    log: Sink | bool | None = None
    otel: OtelOptions | bool | None = None


def _require_otel() -> None:
    try:
        import opentelemetry.metrics
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        raise UsageError("otel=True needs OpenTelemetry: pip install 'llmops-cli[otel]'") from None


def resolve_otel(otel: Any) -> OtelOptions | bool | None:
    """``otel=`` as given: True / an :class:`OtelOptions` (checked installed), False, or None."""
    if otel is None or otel is False:
        return otel
    if otel is True:
        _require_otel()
        return OtelOptions()
    if isinstance(otel, OtelOptions):
        _require_otel()
        return otel
    raise UsageError(f"otel= takes True, False or OtelOptions(...), not {type(otel).__name__}")


def with_serving(prompt: Prompt, log: Any = None, otel: Any = None) -> Prompt:
    """``prompt`` with these serving options: a copy (cached prompts are shared and never changed)."""
    if log is None and otel is None:
        return prompt
    sink = False if log is False else resolve_sink(log) if log is not None else None
    options = ServingOptions(log=sink, otel=resolve_otel(otel))
    return dataclasses.replace(prompt, serving=options)


_env_otel_failed = False


def env_otel() -> OtelOptions | None:
    """OpenTelemetry options when ``$LLMOPS_OTEL`` is 1/true/yes/on and the extra is installed (else a
    warning, once)."""
    global _env_otel_failed
    if not settings.OTEL.flag() or _env_otel_failed:
        return None
    try:
        _require_otel()
    except UsageError:
        _env_otel_failed = True
        _logger.warning("llmops: %s is set, OpenTelemetry is not installed: pip install 'llmops-cli[otel]'", OTEL_ENV)
        return None
    return _ENV_OTEL


_ENV_OTEL = OtelOptions()
