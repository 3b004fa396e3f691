"""Tools in prompt files: function definitions, shared tool files, ``tool_choice``, and bounds on tool schemas.

A prompt file's ``tools:`` is a list whose items are either a function defined in place::

    tools:
      - name: lookup_order
        description: Look up an order by its id.
        parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
        strict: true

or a reference to a shared definition in a tool file under ``prompts/_tools/`` (``paths.tools`` in
``llmops.yaml``)::

    tools:
      - use: orders/lookup_order     # the tool lookup_order of prompts/_tools/orders.yaml
      - use: billing/*               # every tool of prompts/_tools/billing.yaml

A tool file is a mapping with ``tools:`` (the same function definitions) and an optional ``description``. The
last segment of ``use`` is a tool name (or ``*``), the segments before it the file, without ``.yaml``. Tool
files are confined like partials (no ``..``, no absolute path, no link out of the folder, size and YAML bounds).

Parameters schemas are JSON Schemas, checked here with hard bounds before anything else sees them
(:func:`schema_problem`): an object schema, at most :data:`MAX_SCHEMA_DEPTH` levels and
:data:`MAX_SCHEMA_NODES` sub-schemas, enums of at most :data:`MAX_ENUM_VALUES` values, and ``$ref`` only to
``#/$defs/…`` (or ``#/definitions/…``) without cycles — no remote references, no ``$id``, no dynamic
references. The full Draft 2020-12 meta-schema check is ``llmops prompt lint``'s.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from .records.chat import ToolChoice, ToolSpec

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOOL_FILE_SUFFIX = ".yaml"
MAX_TOOLS = 128  # tools one prompt sends (OpenAI's limit per request)
MAX_TOOL_DESCRIPTION_CHARS = 10_000
MAX_SCHEMA_DEPTH = 32  # nested sub-schemas of one parameters schema
MAX_SCHEMA_NODES = 10_000  # mappings in one parameters schema
MAX_ENUM_VALUES = 1_000  # values of one enum
MAX_REF_CHARS = 200
_USE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/([A-Za-z0-9_-]{1,64}|\*)$")
_REF = re.compile(r"^#/(\$defs|definitions)/([^/]+)$")
# keywords whose value is one sub-schema / a list of sub-schemas / a mapping of name -> sub-schema
_SUB_ONE = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
     "unevaluatedItems", "unevaluatedProperties", "additionalItems"}
)  # fmt: skip
_SUB_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SUB_MAP = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_REFUSED_KEYWORDS = {
    "$id": "'$id' is not allowed (it would change how $ref resolves)",
    "$anchor": "'$anchor' is not allowed (use $defs and '#/$defs/NAME')",
    "$dynamicRef": "'$dynamicRef' is not allowed",
    "$dynamicAnchor": "'$dynamicAnchor' is not allowed",
    "$recursiveRef": "'$recursiveRef' is not allowed",
    "$recursiveAnchor": "'$recursiveAnchor' is not allowed",
}
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def tool_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a function name (providers accept ``[A-Za-z0-9_-]{1,64}``), or None."""
    if not isinstance(name, str):
        return "tool name must be a string"
    if not TOOL_NAME.match(name):
        return f"tool name {name[:70]!a} must be 1-64 letters, digits, '_' or '-'"
    return None


class FunctionToolSpec(_Strict):
    """A function the model may call, defined in the prompt file or in a tool file."""

    name: str = Field(..., description="Function name: 1-64 letters, digits, '_' or '-'.")
    description: str = Field(
        "",
        max_length=MAX_TOOL_DESCRIPTION_CHARS,
        description="What the tool does and when to call it (the model reads it).",
    )
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments: an object schema (local '#/$defs/...' references only).",
    )
    strict: bool = Field(False, description="Ask the provider to enforce the schema exactly (OpenAI strict mode).")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = tool_name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if "\0" in value:
            raise ValueError("tool description contains a NUL character")
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = schema_problem(value)
        if problem is None and value.get("type", "object") != "object":
            problem = "must be an object schema (type: object)"
        if problem:
            raise ValueError(f"parameters {problem}")
        return value

    def to_record(self) -> ToolSpec:
        """The provider-neutral :class:`~llmops_cli.records.chat.ToolSpec` the model layer sends."""
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters, strict=self.strict)


class ToolRefSpec(_Strict):
    """A reference to shared tool definitions in a tool file (``prompts/_tools/<file>.yaml``)."""

    use: str = Field(
        ...,
        description="'FILE/TOOL' (one tool) or 'FILE/*' (every tool of the file); FILE is relative to the tools "
        "folder, without '.yaml'.",
    )

    @field_validator("use")
    @classmethod
    def _use(cls, value: str) -> str:
        if len(value) > MAX_REF_CHARS or not _USE.match(value) or ".." in value.split("/"):
            raise ValueError(
                f"tool reference {value[:80]!a} must look like 'FILE/TOOL' or 'FILE/*' (a relative path of "
                "letters, digits, '_', '-', '.', no '..')"
            )
        return value

    @property
    def file(self) -> str:
        """The tool file's name relative to the tools folder, without the suffix."""
        return self.use.rsplit("/", 1)[0]

    @property
    def tool(self) -> str:
        """The tool's name, or ``*`` for every tool of the file."""
        return self.use.rsplit("/", 1)[1]


def _entry_kind(value: Any) -> str:
    return "tag:use" if isinstance(value, dict) and "use" in value else "tag:function"


ToolEntry = Annotated[
    Annotated[FunctionToolSpec, Tag("tag:function")] | Annotated[ToolRefSpec, Tag("tag:use")],
    Discriminator(_entry_kind),
]


class NamedToolChoice(_Strict):
    """``tool_choice: {name: X}``: the model must call the function X."""

    name: str = Field(..., description="The function the model must call.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = tool_name_problem(value)
        if problem:
            raise ValueError(problem)
        return value


ToolChoiceSpec = Literal["auto", "required", "none"] | NamedToolChoice


def tool_choice_record(choice: ToolChoiceSpec | None) -> ToolChoice | None:
    """The :class:`~llmops_cli.records.chat.ToolChoice` of a prompt file's ``tool_choice`` (None: unset)."""
    if choice is None:
        return None
    if isinstance(choice, NamedToolChoice):
        return ToolChoice(mode="function", name=choice.name)
    return ToolChoice(mode=choice)


class ToolFileSpec(_Strict):
    """A shared tool file (``prompts/_tools/<name>.yaml``): function definitions prompts reference with ``use``."""

    description: str = Field("", max_length=MAX_TOOL_DESCRIPTION_CHARS, description="What these tools are for.")
    tools: list[FunctionToolSpec] = Field(..., min_length=1, max_length=MAX_TOOLS, description="The tools.")

    @model_validator(mode="after")
    def _unique(self) -> ToolFileSpec:
        seen: set[str] = set()
        for tool in self.tools:
            if tool.name in seen:
                raise ValueError(f"tool {tool.name!r} is defined more than once in this file")
            seen.add(tool.name)
        return self


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is refused as a tool's parameters schema (bounds, references), or None.

    Iterative (no recursion on deep input). Checks: a mapping; at most :data:`MAX_SCHEMA_DEPTH` nested
    sub-schemas and :data:`MAX_SCHEMA_NODES` in all; every ``enum`` a list of at most :data:`MAX_ENUM_VALUES`;
    ``$ref`` only ``#/$defs/NAME`` or ``#/definitions/NAME`` naming an existing definition, with no cycle
    between definitions (a recursive schema); no ``$id``/``$anchor``/dynamic references; ``$schema``, if
    given, Draft 2020-12.
    """
    if not isinstance(schema, dict):
        return "must be a JSON Schema object"
    problem = _json_problem(schema)
    if problem:
        return problem
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        section = schema.get(key)
        if isinstance(section, dict):
            defs.update({f"{key}/{name}": value for name, value in section.items()})
    meta = schema.get("$schema")
    if meta is not None and (not isinstance(meta, str) or meta.rstrip("#") != DRAFT_2020_12):
        return f"'$schema' must be {DRAFT_2020_12} (Draft 2020-12) or left out"
    count = 0
    refs_of: dict[str, set[str]] = {}  # definition (or "" for the root outside $defs) -> definitions it references
    # (node, depth, owner definition, where)
    stack: list[tuple[Any, int, str, str]] = [(schema, 0, "", "$")]
    while stack:
        node, depth, owner, where = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            return f"has a sub-schema that is not an object at {where}"
        count += 1
        if count > MAX_SCHEMA_NODES:
            return f"has more than {MAX_SCHEMA_NODES:,} sub-schemas"
        if depth > MAX_SCHEMA_DEPTH:
            return f"is nested deeper than {MAX_SCHEMA_DEPTH} levels (at {where[:120]})"
        for keyword, why in _REFUSED_KEYWORDS.items():
            if keyword in node:
                return f"{why} (at {where[:120]})"
        enum = node.get("enum")
        if enum is not None:
            if not isinstance(enum, list):
                return f"has an 'enum' that is not a list at {where[:120]}"
            if len(enum) > MAX_ENUM_VALUES:
                return f"has an enum of {len(enum):,} values at {where[:120]} (at most {MAX_ENUM_VALUES:,})"
        ref = node.get("$ref")
        if ref is not None:
            problem = _ref_problem(ref, defs)
            if problem:
                return f"{problem} (at {where[:120]})"
            refs_of.setdefault(owner, set()).add(ref[2:])
        for key, value in node.items():
            if key in _SUB_ONE:
                stack.append((value, depth + 1, owner, f"{where}.{key}"))
            elif key in _SUB_LIST and isinstance(value, list):
                stack.extend((v, depth + 1, owner, f"{where}.{key}[{i}]") for i, v in enumerate(value))
            elif key in _SUB_MAP and isinstance(value, dict):
                for name, sub in value.items():
                    sub_owner = f"{key}/{name}" if depth == 0 and key in ("$defs", "definitions") else owner
                    stack.append((sub, depth + 1, sub_owner, f"{where}.{key}.{str(name)[:40]}"))
            elif key in _SUB_MAP | _SUB_LIST:
                return f"has a {key!r} that is not a {'list' if key in _SUB_LIST else 'mapping'} at {where[:120]}"
    cycle = _cycle(refs_of)
    if cycle:
        return "is recursive ($ref cycle " + " -> ".join(f"#/{c}" for c in cycle)[:200] + "); recursion is not allowed"
    return None


def _json_problem(value: Any) -> str | None:
    """Why ``value`` is not plain JSON (a non-string key, a date, a set…), or None. Iterative."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, sub in node.items():
                if not isinstance(key, str):
                    return f"has a key that is not a string ({str(key)[:40]!a})"
                stack.append(sub)
        elif isinstance(node, list):
            stack.extend(node)
        elif node is not None and not isinstance(node, str | int | float | bool):
            return f"holds a {type(node).__name__} value, which is not JSON (quote it)"
    return None


def _ref_problem(ref: Any, defs: dict[str, Any]) -> str | None:
    if not isinstance(ref, str):
        return "has a '$ref' that is not a string"
    shown = ascii(ref[:80])
    if not ref.startswith("#"):
        return f"has a remote $ref {shown}: only '#/$defs/NAME' references inside the schema are allowed"
    m = _REF.match(ref)
    if not m:
        if ref == "#":
            return "is recursive ($ref '#' points at the whole schema); recursion is not allowed"
        return f"has a $ref {shown}: only '#/$defs/NAME' or '#/definitions/NAME' is allowed"
    if ref[2:] not in defs:
        return f"has a $ref {shown} to a definition that does not exist"
    return None


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in the definition reference graph, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path: list[str] = [start]
        iters = [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph.get(nxt, ()))))
    return None


def tool_call_fields(tools: list[ToolSpec], choice: ToolChoice | None, parallel: bool | None) -> dict[str, Any]:
    """The tool part of a call as JSON — ``tools``, ``tool_choice``, ``parallel_tool_calls``, each only when set,
    so prompts without tools keep their hashes. It is in the content hash, the release manifest, the request
    hash and the response-cache key: a tool change is a prompt change."""
    from .records.base import dump_record

    out: dict[str, Any] = {}
    if tools:
        out["tools"] = [dump_record(t) for t in tools]
    if choice is not None:
        out["tool_choice"] = dump_record(choice)
    if parallel is not None:
        out["parallel_tool_calls"] = parallel
    return out


def _printable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with control and invisible characters shown as escapes."""
    text = text[:limit]
    return text if text.isprintable() else "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _type_of(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if isinstance(schema.get("enum"), list):
        values = schema["enum"]
        shown = "|".join(_printable(json.dumps(v, ensure_ascii=False), 30) for v in values[:6])
        return shown + ("|…" if len(values) > 6 else "")
    if isinstance(schema.get("$ref"), str):
        return _printable(schema["$ref"].rsplit("/", 1)[-1], 40)
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind[:6])
    if kind == "array":
        return f"array[{_type_of(schema.get('items'))}]"
    if isinstance(kind, str):
        return kind
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return "|".join(_type_of(s) for s in schema[key][:6])
    return "any"


def tool_signature(tool: ToolSpec) -> str:
    """A one-line summary for terminals and diffs: ``lookup_order(order_id: string, note?: string)``
    (``?``: not required; control characters escaped)."""
    props = tool.parameters.get("properties")
    required = tool.parameters.get("required")
    required = set(required) if isinstance(required, list) else set()
    args = []
    if isinstance(props, dict):
        for name, sub in list(props.items())[:50]:
            mark = "" if name in required else "?"
            args.append(f"{_printable(str(name), 60)}{mark}: {_type_of(sub)}")
        if len(props) > 50:
            args.append(f"… {len(props) - 50} more")
    return f"{tool.name}({', '.join(args)})"


def describe_tools(tools: list[ToolSpec], choice: ToolChoice | None = None, parallel: bool | None = None) -> list[str]:
    """Lines that show a prompt's tools to a person (``prompt render``): signature, strict flag, description;
    then ``tool_choice`` and ``parallel_tool_calls`` when set."""
    lines = []
    for tool in tools:
        flag = "  [strict]" if tool.strict else ""
        first = tool.description.strip().splitlines()[0] if tool.description.strip() else ""
        lines.append(f"{tool_signature(tool)}{flag}" + (f"  — {_printable(first, 200)}" if first else ""))
    settings = []
    if choice is not None:
        settings.append(f"tool_choice: {choice.name if choice.mode == 'function' else choice.mode}")
    if parallel is not None:
        settings.append(f"parallel_tool_calls: {str(parallel).lower()}")
    if settings:
        lines.append("  ".join(settings))
    return lines


def strict_schema_problems(schema: dict[str, Any], limit: int = 5) -> list[str]:
    """Where ``schema`` breaks OpenAI's strict-mode rules (every object: ``additionalProperties: false`` and
    every property listed in ``required``), as ``$.path: problem`` strings, at most ``limit``."""
    problems: list[str] = []
    stack: list[tuple[Any, str]] = [(schema, "$")]
    while stack and len(problems) < limit:
        node, where = stack.pop()
        if not isinstance(node, dict):
            continue
        props = node.get("properties")
        if node.get("type") == "object" or isinstance(props, dict):
            if node.get("additionalProperties") is not False:
                problems.append(f"{where}: an object needs 'additionalProperties: false'")
            if isinstance(props, dict):
                raw = node.get("required")
                required = raw if isinstance(raw, list) else []
                missing = [str(k) for k in props if k not in required]
                if missing:
                    names = ", ".join(_printable(m, 40) for m in missing[:5])
                    problems.append(f"{where}: every property must be required (not: {names})")
        for key, value in node.items():
            if key in _SUB_ONE:
                stack.append((value, f"{where}.{key}"))
            elif key in _SUB_LIST and isinstance(value, list):
                stack.extend((v, f"{where}.{key}[{i}]") for i, v in enumerate(value))
            elif key in _SUB_MAP and isinstance(value, dict):
                stack.extend((v, f"{where}.{key}.{_printable(str(k), 40)}") for k, v in value.items())
    return problems[:limit]
