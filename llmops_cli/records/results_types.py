"""Field types, the base class and the error paths of the results records (:mod:`.results`).

A results file comes from a pull request, so every field is validated strictly (no ``"1"`` for 1, no ``true``
for 1, no NaN or infinity) by pydantic-core, and names (prompt names, case ids, metrics, clusters) by the same
character rule as where they are declared (:func:`llmops_cli.limits.label_problem`). Numbers keep the JSON type
they were read or built with (``1`` stays ``1``, ``1.0`` stays ``1.0``), so a load/save round trip writes the
same bytes. A problem is raised as :class:`Invalid` with its JSON path (``samples[3].judge.errors``) and a
sentence naming the bad value; :func:`llmops_cli.evals.results.load_results` adds the file (exit 2).
"""

from __future__ import annotations

import atexit
import gc
import json
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, Any, Literal, Self, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic_core import ErrorDetails

from ..limits import MAX_NAME_CHARS, label_problem, name_problem
from .base import OpenRecord

__all__ = [
    "Amount",
    "CaseId",
    "ClusterName",
    "Count",
    "InputName",
    "Invalid",
    "MetricName",
    "PromptName",
    "Rate",
    "ReasonName",
    "ResultsRecord",
    "Score",
    "Status",
    "gc_paused",
    "omitted_when_none",
    "problem_of",
    "show",
]


class Invalid(Exception):
    """A validation problem: ``where`` is the JSON path (``""`` for the whole document), ``what`` the complaint."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}" if where else what)
        self.where = where
        self.what = what


def show(value: object) -> str:
    """A short printable rendering of a bad value for an error message."""
    if isinstance(value, float):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=True)
        except (TypeError, ValueError):
            text = type(value).__name__
    return text if len(text) <= 40 else text[:39] + "…"


# -- field types --------------------------------------------------------------------------------------------
_INT = Annotated[int, Field(strict=True, ge=0)]
_FLOAT = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]

Count = Annotated[int, Field(strict=True, ge=0)]
"""A non-negative whole number (not a bool, not ``1.0``)."""

Amount = Annotated[
    Union[_INT, _FLOAT],  # noqa: UP007 (a runtime union)
    Field(union_mode="left_to_right"),
    WithJsonSchema({"type": "number", "minimum": 0}),
]
"""A finite non-negative number (costs, latencies, weights); an int stays an int."""

_UNIT_INT = Annotated[int, Field(strict=True, ge=0, le=1)]
_UNIT_FLOAT = Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)]
Score = Annotated[
    Union[_UNIT_INT, _UNIT_FLOAT],  # noqa: UP007
    Field(union_mode="left_to_right"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]
"""A finite number in [0, 1] (scores, thresholds, rates); an int stays an int."""

Rate = Score
"""A rate in [0, 1] (pass and error rates and their limits)."""

Status = Literal["pass", "fail", "error"]


def _name_problem(value: str, what: str) -> str | None:
    """The write-time rule; golden sets, prompt files and ``llmops.yaml`` check the same functions where the
    names are declared."""
    if what in ("prompt name", "case id"):
        return name_problem(value, what)
    return label_problem(value, what)


_cached_name_problem = lru_cache(maxsize=8192)(_name_problem)
"""The same names come back on every sample (prompt, metrics, clusters): each short one is checked once."""


def _name_check(what: str) -> AfterValidator:
    def check(value: str) -> str:
        problem = _cached_name_problem(value, what) if len(value) <= MAX_NAME_CHARS else _name_problem(value, what)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


PromptName = Annotated[str, Field(strict=True), _name_check("prompt name")]
"""A prompt name: no control characters (it reaches the terminal, JUnit and HTML), at most 200 characters,
no ``..`` segment."""
CaseId = Annotated[str, Field(strict=True), _name_check("case id")]
"""A case id: the rule of :data:`PromptName`."""
MetricName = Annotated[str, Field(strict=True), _name_check("metric")]
"""A metric name: no control characters, at most 200 characters."""
ClusterName = Annotated[str, Field(strict=True), _name_check("cluster")]
"""A cluster name: no control characters, at most 200 characters."""
ReasonName = Annotated[str, Field(strict=True), _name_check("reason")]
"""A short reason word (``budget``): no control characters, at most 200 characters."""
InputName = Annotated[str, Field(strict=True), _name_check("input name")]
"""The name of an image/file input of a prompt: no control characters, at most 200 characters."""


def omitted_when_none(value: object) -> bool:
    """``exclude_if`` of the fields left out of the JSON when None (a null there would be refused)."""
    return value is None


# -- the base class -----------------------------------------------------------------------------------------


class ResultsRecord(OpenRecord):
    """Base of the results records: strict types, unknown keys kept (files of a newer llmops, keys a user
    added) and written back, ``to_dict`` the JSON form."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True, validate_assignment=False)

    @property
    def extra(self) -> dict[str, Any]:
        """Keys this version does not know, as read."""
        return self.model_extra or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (nested records included; fields that say so left out when None)."""
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: object, at: str = "") -> Self:
        """Validate ``data`` (parsed JSON); :class:`Invalid` names the JSON path (prefixed by ``at``)."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            where, what = problem_of(cls, exc)
            raise Invalid(_join(at, where), what) from None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Build many records without the cyclic garbage collector's passes: validation creates hundreds of
    thousands of acyclic objects (a 30,000-sample file), and each full collection walks all of them — most of
    a load's time with the collector on (bench/results_records_bench.py). Afterwards ``gc.freeze()`` moves what
    exists to the permanent generation, so later collections do not walk the records again either; reference
    counting still frees them (only a cycle that was already garbage at that moment waits for the exit, where
    ``gc.unfreeze()`` hands everything back to the final collection)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()  # what was built is long-lived: later collections skip it (refcounting still frees it)
            _unfreeze_at_exit()
            gc.enable()


@lru_cache(maxsize=1)
def _unfreeze_at_exit() -> None:
    """Hand the frozen objects back to the collector when the interpreter exits, so its final collection
    sees them (extension modules such as duckdb otherwise report them as leaked)."""
    atexit.register(gc.unfreeze)


# -- errors -------------------------------------------------------------------------------------------------
_TYPE_WORDS = {
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
    "none_required": "null",
}


def problem_of(cls: type[ResultsRecord], exc: ValidationError) -> tuple[str, str]:
    """``(JSON path, complaint)`` of the first problem pydantic found, in the words of this format."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = _real_loc(first["loc"])
    same = [e for e in errors if _real_loc(e["loc"]) == loc]
    return _path(cls, loc), _complaint(same)


def _real_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The JSON location: without pydantic's union branch and validator tags."""
    tags = ("constrained-", "function-", "literal[", "nullable[", "[key]")
    return tuple(p for p in loc if not (isinstance(p, str) and (p.startswith(tags) or p in ("int", "float", "str"))))


def _complaint(errors: list[ErrorDetails]) -> str:
    """One sentence for the errors of one location (a union's branches report one each)."""
    value = errors[0].get("input")
    shown = show(value)
    kinds = [e["type"] for e in errors]
    for e in errors:  # a constraint of a branch whose type matched says the most
        kind, ctx = e["type"], e.get("ctx") or {}
        if kind == "value_error":
            return str(e["msg"]).removeprefix("Value error, ")
        if kind == "missing":
            return "missing"
        if kind == "finite_number":
            return f"{shown} is not a finite number"
        if kind == "greater_than_equal":
            return f"{shown} is below {ctx.get('ge')}"
        if kind == "less_than_equal":
            return f"{shown} is above {ctx.get('le')}"
        if kind == "literal_error":
            return f"{shown} is not {ctx.get('expected')}"
        if kind == "string_pattern_mismatch":
            return f"{shown} does not match {ctx.get('pattern')}"
        if kind == "too_long":
            return f"more than {ctx.get('max_length')} entries"
    if set(kinds) <= {"int_type", "float_type"} and "float_type" in kinds:
        return f"{shown} is not a number"
    words = [_TYPE_WORDS.get(k, "") for k in kinds]
    if all(words):
        return f"{shown} is not {' or '.join(dict.fromkeys(words))}"
    return f"{shown}: {errors[0]['msg']}"


def _join(at: str, where: str) -> str:
    if not at:
        return where
    if not where or where.startswith("["):
        return f"{at}{where}"
    return f"{at}.{where}"


def _path(cls: type[ResultsRecord], loc: tuple[str | int, ...]) -> str:
    """``samples[3].judge.errors``; a dictionary key is written ``prompts["a/b"]``."""
    out = ""
    tp: Any = cls
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            tp = _inner(tp, list)
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            out += f".{part}" if out else part
            tp = tp.model_fields[part].annotation
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
            out += f".{part}" if out else part  # a key the record does not know (extra_forbidden)
            tp = Any
        else:
            out += f"[{show(part)}]"
            tp = _inner(tp, dict)
        tp = _unwrap(tp)
    return out


def _unwrap(tp: Any) -> Any:
    """``X | None`` → ``X``; an ``Annotated`` type → its base."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _inner(tp: Any, container: type) -> Any:
    """The item type of ``list[X]`` or the value type of ``dict[K, X]`` (``Any`` when not one)."""
    if typing.get_origin(tp) is container:
        return _unwrap(typing.get_args(tp)[-1])
    return Any
