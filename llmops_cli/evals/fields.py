"""Building blocks of the typed results model (:mod:`llmops_cli.evals.model`): the JSON base class and
the field checks that ``from_dict`` runs on data that may come from a pull request.

Every check raises :class:`Invalid` with the JSON path of the value (``samples[3].judge.errors``) and what is
wrong with it; :func:`llmops_cli.evals.results.load_results` turns that into an exit-2 error naming the file.
Field metadata (:func:`spec`) drives both ``to_dict`` (``omit_none``) and the generated JSON Schema.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from ..limits import MAX_NAME_CHARS, label_problem, name_problem
from ..records.base import Record, dump_record


class Invalid(Exception):
    """A validation problem: ``where`` is the JSON path, ``what`` the complaint."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


def meta(
    *, required: bool = False, omit_none: bool = False, schema: dict[str, Any] | None = None, doc: str = ""
) -> dict[str, Any]:
    """Field metadata the model needs: ``required`` (the key must be present in a file), ``omit_none``
    (``to_dict`` leaves the key out when the value is None: a null there would be refused), ``schema`` (extra
    JSON Schema keywords, e.g. ``minimum``) and ``doc`` (its description)."""
    return {"required": required, "omit_none": omit_none, "schema": schema or {}, "doc": doc}


EXTRA: dict[str, Any] = {"extra": True}
"""Metadata of the ``extra`` field: keys this version does not know, kept as they are so that a load/save
round trip loses nothing."""


_Plan = tuple[tuple[tuple[str, bool], ...], str | None]
_PLANS: dict[type, _Plan] = {}
_KNOWN: dict[type, frozenset[str]] = {}
_SCALARS = (str, int, float, bool, type(None))


def _plan(cls: type) -> _Plan:
    """``((field name, omit_none) ..., name of the extra field)`` of a model class, computed once."""
    plan = _PLANS.get(cls)
    if plan is None:
        fields = dataclasses.fields(cls)
        extra = next((f.name for f in fields if f.metadata.get("extra")), None)
        named = tuple((f.name, bool(f.metadata.get("omit_none"))) for f in fields if f.name != extra)
        plan = _PLANS[cls] = (named, extra)
    return plan


class JsonModel:
    """Base of the results model classes: ``to_dict`` from the fields (nested models, lists and dicts of
    them), leaving out None where the field says ``omit_none``, plus the unknown keys kept in ``extra``."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def to_dict(self) -> dict[str, Any]:
        named, extra_name = _plan(type(self))
        out: dict[str, Any] = {}
        for name, omit_none in named:
            value = getattr(self, name)
            if value is None:
                if not omit_none:
                    out[name] = None
            elif type(value) in _SCALARS:
                out[name] = value
            else:
                out[name] = _plain(value)
        if extra_name is not None:
            for key, value in getattr(self, extra_name).items():
                out.setdefault(key, value)
        return out

    @classmethod
    def known_keys(cls) -> frozenset[str]:
        known = _KNOWN.get(cls)
        if known is None:
            known = _KNOWN[cls] = frozenset(name for name, _ in _plan(cls)[0])
        return known

    @classmethod
    def extra_of(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        known = cls.known_keys()
        if known.issuperset(data):
            return {}
        return {k: v for k, v in data.items() if k not in known}


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, JsonModel):
        return value.to_dict()
    if isinstance(value, Record):
        return dump_record(value, exclude_none=True)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# -- checks -------------------------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A short printable rendering of a bad value for an error message."""
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def obj(value: Any, where: str, *, optional: bool = False, what: str = "an object") -> dict[str, Any] | None:
    """An object (None allowed when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise Invalid(where, f"{show(value)} is not {what}")
    return value


def obj_or_empty(value: Any, where: str) -> dict[str, Any]:
    """An optional object; None reads as ``{}``."""
    return obj(value, where, optional=True) or {}


def array(value: Any, where: str, *, optional: bool = False) -> list[Any] | None:
    if value is None and optional:
        return None
    if not isinstance(value, list):
        raise Invalid(where, f"{show(value)} is not an array")
    return value


def text(value: Any, where: str, *, optional: bool = True, what: str = "a string or null") -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise Invalid(where, f"{show(value)} is not {what}")
    return value


def flag(value: Any, where: str, *, optional: bool = True) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise Invalid(where, f"{show(value)} is not {'true, false or null' if optional else 'true or false'}")
    return value


def count(value: Any, where: str, *, optional: bool = True) -> int | None:
    """A non-negative integer (not a bool)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(where, f"{show(value)} is not a non-negative integer")
    return value


def required_count(value: Any, where: str) -> int:
    n = count(value, where, optional=False)
    assert n is not None
    return n


def amount(value: Any, where: str) -> float | None:
    """A finite non-negative number or null (costs, latencies, durations)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise Invalid(where, f"{show(value)} is not a finite non-negative number")
    return value


def score(value: Any, where: str) -> float | None:
    """A finite score in [0, 1] or null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and 0 <= value <= 1):
        raise Invalid(where, f"{show(value)} is not a finite score in [0, 1]")
    return value


def rate(value: Any, where: str) -> float:
    """A number in [0, 1] (not null)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise Invalid(where, f"{show(value)} is not a number in [0, 1]")
    return value


def name(value: Any, where: str, what: str) -> str:
    """A prompt name, case id, metric or cluster: a string with no control characters (it reaches the
    terminal, JUnit and HTML), at most 200 characters, and for prompt names and case ids no ``..``."""
    if not isinstance(value, str):
        raise Invalid(where, f"{show(value)} is not a {what}")
    problem = _cached_name_problem(value, what) if len(value) <= MAX_NAME_CHARS else _name_problem(value, what)
    if problem:
        raise Invalid(where, problem)
    return value


def _name_problem(value: str, what: str) -> str | None:
    """The write-time rule; golden sets, prompt files and ``llmops.yaml`` check the same functions where the
    names are declared (:func:`llmops_cli.limits.label_problem`)."""
    if what in ("prompt name", "case id"):
        return name_problem(value, what)
    return label_problem(value, what)


_cached_name_problem = lru_cache(maxsize=8192)(_name_problem)
"""The same names come back on every sample (prompt, metrics, clusters): each short one is checked once."""


def present(data: Mapping[str, Any], key: str, where: str) -> Any:
    """``data[key]``; the key must be there (its value may be null)."""
    if key not in data:
        raise Invalid(f"{where}.{key}", "missing")
    return data[key]


def strings(value: Any, where: str) -> list[str]:
    """An optional array of strings (None reads as ``[]``)."""
    out = array(value, where, optional=True) or []
    for k, v in enumerate(out):
        text(v, f"{where}[{k}]", optional=False, what="a string")
    return out
