"""Base classes of the records layer and the one way to load a record from untrusted JSON.

A :class:`Record` is a pydantic v2 model that refuses unknown keys; an :class:`OpenRecord` keeps them (files
written by a newer llmops, or keys a user added) so that a load/save round trip loses nothing. A top-level
record declares ``KIND`` (the value of its ``kind`` key, when the format has one), ``SCHEMA_VERSION`` and
``MIGRATIONS``: ``{old_version: function(dict) -> dict}`` that lifts a document one version up. :func:`load_record`
applies them in order, validates, and turns pydantic's errors into one :class:`RecordError` naming the file and
the JSON path (``$.samples[3].judge.errors``), which the CLI maps to exit 2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import IntegrityError

__all__ = ["Migration", "OpenRecord", "Record", "RecordError", "dump_record", "json_path", "load_record"]

Migration = Callable[[dict[str, Any]], dict[str, Any]]
R = TypeVar("R", bound="Record")


class RecordError(IntegrityError):
    """A persisted or exchanged document that does not match its record type (exit 2)."""


class Record(BaseModel):
    """A typed record. Unknown keys are refused; subclasses document every field (``Field(description=…)``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=False)

    KIND: ClassVar[str | None] = None
    SCHEMA_VERSION: ClassVar[int | None] = None
    MIGRATIONS: ClassVar[Mapping[int, Migration]] = {}
    #: The key holding the version (``schema_version``; the request record's is ``v``).
    VERSION_KEY: ClassVar[str] = "schema_version"

    @classmethod
    def stored_version(cls, data: Mapping[str, Any]) -> Any:
        """The version a document declares (absent: 0). A format that writes it inside a string
        (``"schema": "llmops.release/1"``) overrides this."""
        return data.get(cls.VERSION_KEY, 0)

    @classmethod
    def readable_versions(cls) -> tuple[int, ...]:
        """Every version this llmops reads: the current one and each one a migration lifts."""
        current = () if cls.SCHEMA_VERSION is None else (cls.SCHEMA_VERSION,)
        return tuple(sorted({*cls.MIGRATIONS, *current}))


class OpenRecord(Record):
    """A record that keeps keys this version does not know (``model_extra``) and writes them back."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=False)


def json_path(loc: tuple[str | int, ...]) -> str:
    """``("samples", 3, "judge")`` → ``$.samples[3].judge``."""
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def migrate(cls: type[Record], data: dict[str, Any], source: str) -> dict[str, Any]:
    """Lift ``data`` to ``cls.SCHEMA_VERSION`` with ``cls.MIGRATIONS`` (a document without a version is v0)."""
    target = cls.SCHEMA_VERSION
    if target is None:
        return data
    key = f"$.{cls.VERSION_KEY}"
    version = cls.stored_version(data)
    if isinstance(version, bool) or not isinstance(version, int):
        raise RecordError(f"{key}: must be a whole number, got {str(version)[:40]!r}", file=source)
    if version > target:
        raise RecordError(
            f"{key}: {version} is newer than this llmops understands ({target}); upgrade llmops", file=source
        )
    while version < target:
        step = cls.MIGRATIONS.get(version)
        if step is None:
            raise RecordError(f"{key}: version {version} cannot be read by this llmops", file=source)
        data = step(dict(data))
        lifted = cls.stored_version(data)
        version = lifted if isinstance(lifted, int) and lifted > version else version + 1
    return data


def load_record(cls: type[R], data: Any, *, source: str) -> R:
    """Validate ``data`` (already parsed, bounded JSON) as ``cls`` after migrating it; errors name file + path."""
    if not isinstance(data, dict):
        raise RecordError(f"$: expected a JSON object, got {type(data).__name__}", file=source)
    if cls.KIND is not None and data.get("kind", cls.KIND) != cls.KIND:
        raise RecordError(f"$.kind: expected {cls.KIND!r}, got {str(data.get('kind'))[:60]!r}", file=source)
    data = migrate(cls, data, source)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "field required"
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise RecordError(f"{json_path(loc)}: {msg}{suffix}", file=source) from None


def dump_record(record: Record, *, exclude_none: bool = False) -> dict[str, Any]:
    """The JSON form of a record (aliases used, unknown keys of an :class:`OpenRecord` kept)."""
    return record.model_dump(mode="json", by_alias=True, exclude_none=exclude_none)
