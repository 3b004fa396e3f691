"""Serving options a loaded prompt carries (``load_prompt(..., log=..., otel=...)``) and how the environment
(``LLMOPS_LOG``, ``LLMOPS_OTEL``) fills in what was not given."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import settings
from ..errors import UsageError
from ..safety.guards import GuardSet
from .sinks import Sink, resolve_sink

if TYPE_CHECKING:
    from ..safety.guards import GuardSet

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
    guards: GuardSet | None = None  # input/output guards (llmops_cli.safety.guards)


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


def serving_options(
    log: Any = None, otel: Any = None, guards: Any = None, *, file_guards: Any = (), schema: Any = None
) -> ServingOptions | None:
    """``load_prompt(log=, otel=, guards=)`` checked, as the options a prompt copy carries (None: none given).
    ``guards``: :class:`~llmops_cli.safety.guards.Guard` objects or mappings, added after ``file_guards`` (the
    guards the prompt file declares: code adds to them, never removes them); ``schema`` the output schema."""
    if log is None and otel is None and guards is None:
        return None
    sink = False if log is False else resolve_sink(log) if log is not None else None
    guard_set = None
    if guards is not None:
        if isinstance(guards, str | bytes) or not hasattr(guards, "__iter__"):
            raise UsageError(f"guards= takes a list of guards, not {type(guards).__name__}")
        guard_set = GuardSet.of([*file_guards, *guards], schema)
    return ServingOptions(log=sink, otel=resolve_otel(otel), guards=guard_set)


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


_FILE_GUARDS: dict[str, GuardSet] = {}


def file_guards(sha256: str, specs: Sequence[Any], schema: Any, file: str) -> GuardSet | None:
    """The guards a prompt file declares (``guards:``), checked once per content hash; None without any."""
    if not specs:
        return None
    cached = _FILE_GUARDS.get(sha256)
    if cached is None:
        try:
            cached = GuardSet.of(list(specs), schema)
        except UsageError as exc:
            raise UsageError(f"guards: {exc.message}", file=file) from None
        if len(_FILE_GUARDS) > 256:
            _FILE_GUARDS.clear()
        _FILE_GUARDS[sha256] = cached
    return cached
