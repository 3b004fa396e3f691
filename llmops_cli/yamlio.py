"""YAML parsing with line numbers for error messages, and the bounds untrusted YAML must keep.

Data is parsed with PyYAML's safe (C, when available) loader, after one pass over the parser's event
stream (iterative, so never a deep recursion) that refuses, with file:line: nesting deeper than
:data:`~llmops_cli.limits.MAX_YAML_DEPTH`, duplicate keys, non-finite numbers (``.nan``, ``.inf``), and
anchors/aliases — refused outright in prompt files and golden sets, capped by expanded size elsewhere.
Line numbers are computed lazily, only when a message needs one, by composing the node tree (after the
same checks) and mapping each key path to its line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import yaml

from .errors import PromptFileError
from .limits import MAX_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_INT_CHARS, MAX_YAML_NODES

try:  # the C loader is ~10x faster
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

PathKey = tuple[str | int, ...]
Aliases = Literal["refuse", "cap"]


LARGE_YAML_CHARS = 32_768  # above this, parsed documents are worth caching (PyYAML builds objects in Python)

# YAML 1.1 floats as PyYAML resolves them (plain scalars), and the explicit float tag.
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_FLOAT_TAG = "tag:yaml.org,2002:float"
_INT_TAG = "tag:yaml.org,2002:int"
# YAML 1.1 integers as PyYAML resolves them (decimal, 0x/0b/0o, octal, sexagesimal), loosely: only long
# scalars are matched, to refuse them before int() does (it raises past 4,300 digits, and is quadratic)
_INT_LIKE = re.compile(r"^[-+]?(?:0[xX][0-9a-fA-F_]+|0[bBoO][0-7_]+|[0-9][0-9_:]*)$")


def _non_finite(value: str) -> bool:
    v = value.replace("_", "").lower().lstrip("+-")
    if v in (".inf", ".nan", "inf", "nan", "infinity"):
        return True
    try:
        return not math.isfinite(float(v))
    except ValueError:
        return False


class _Frame:
    __slots__ = ("expect_key", "keys")

    def __init__(self, mapping: bool) -> None:
        self.keys: set[str] | None = set() if mapping else None
        self.expect_key = True


def check_yaml(text: str, file: str, aliases: Aliases = "refuse", max_nodes: int = MAX_YAML_NODES) -> None:
    """Refuse YAML that is too deep, repeats a key, holds a non-finite number or uses anchors.

    One iterative pass over the C parser's events; :class:`PromptFileError` with file:line.
    With ``aliases="cap"``, anchors are allowed while the document expanded stays under
    :data:`~llmops_cli.limits.MAX_YAML_NODES` nodes (an "alias bomb" does not).
    """
    frames: list[_Frame] = []
    count = 0
    sizes: dict[str, int] = {}
    open_anchors: list[tuple[str | None, int]] = []

    def fail(msg: str, ev: Any) -> PromptFileError:
        return PromptFileError(msg, file=file, line=ev.start_mark.line + 1 if ev.start_mark else None)

    try:
        # events are told apart by type() (the hot loop), so their fields are read untyped
        events: Iterator[Any] = yaml.parse(text, Loader=_Loader)
        for ev in events:
            cls = type(ev)
            if cls in (yaml.SequenceEndEvent, yaml.MappingEndEvent):
                frames.pop()
                anchor, start = open_anchors.pop()
                if anchor is not None:
                    sizes[anchor] = count - start
                continue
            if cls not in (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent):
                continue
            anchor = ev.anchor
            if anchor is not None:
                if aliases == "refuse":
                    raise fail("YAML anchors and aliases (&name, *name) are not allowed in this file", ev)
                if cls is yaml.AliasEvent and any(a == anchor for a, _ in open_anchors):
                    raise fail(f"recursive YAML alias *{anchor[:40]}", ev)
            frame = frames[-1] if frames else None
            if frame is not None and frame.keys is not None:
                if frame.expect_key and cls is yaml.ScalarEvent:
                    if ev.value in frame.keys:
                        raise fail(f"duplicate key {ev.value[:80]!r}", ev)
                    frame.keys.add(ev.value)
                frame.expect_key = not frame.expect_key
            if cls is yaml.AliasEvent:
                count += sizes.get(anchor, 1)
            else:
                count += 1
            if count > max_nodes:
                raise fail(f"YAML document has (or expands to) more than {max_nodes:,} nodes", ev)
            if cls is yaml.ScalarEvent:
                if len(ev.value) > MAX_YAML_INT_CHARS and (
                    (ev.implicit[0] and not ev.style and _INT_LIKE.match(ev.value)) or ev.tag == _INT_TAG
                ):
                    raise fail(
                        f"a number of {len(ev.value):,} digits is too large (at most {MAX_YAML_INT_CHARS:,})", ev
                    )
                floaty = (ev.implicit[0] and not ev.style and _FLOAT.match(ev.value)) or ev.tag == _FLOAT_TAG
                if floaty and _non_finite(ev.value):
                    raise fail(f"non-finite number {ev.value!r} is not allowed", ev)
                if anchor is not None:
                    sizes[anchor] = 1
            elif cls is not yaml.AliasEvent:
                if len(frames) >= MAX_YAML_DEPTH:
                    raise fail(f"YAML nested deeper than {MAX_YAML_DEPTH} levels", ev)
                frames.append(_Frame(cls is yaml.MappingStartEvent))
                open_anchors.append((anchor, count - 1))
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, file) from None
    except yaml.YAMLError as exc:
        raise PromptFileError(f"invalid YAML: {exc}", file=file) from None


def _syntax_error(exc: yaml.MarkedYAMLError, file: str) -> PromptFileError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or "invalid YAML"
    return PromptFileError(f"invalid YAML: {problem}", file=file, line=line)


def parse_yaml(
    text: str,
    file: str,
    cache_dir: str | None = None,
    *,
    aliases: Aliases = "refuse",
    max_chars: int = MAX_FILE_BYTES,
    max_nodes: int = MAX_YAML_NODES,
) -> Any:
    """Parse YAML text; :class:`PromptFileError` with file:line on a syntax error or a broken bound.

    With ``cache_dir``, a large document's parsed form is kept as JSON under its content hash, so a
    1,000-case golden set loads in milliseconds the next time (only documents that survive a JSON round
    trip unchanged are cached: string keys, no dates). Only documents that passed :func:`check_yaml`
    are ever cached.
    """
    if len(text) > max_chars:
        raise PromptFileError(f"file is {len(text):,} characters, more than the {max_chars:,} allowed", file=file)
    if cache_dir and len(text) > LARGE_YAML_CHARS:
        return _cached_parse(text, file, cache_dir, aliases)
    check_yaml(text, file, aliases, max_nodes)
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, file) from None
    except yaml.YAMLError as exc:
        raise PromptFileError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise PromptFileError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels", file=file) from None


class LineMap:
    """Maps key paths (``("inputs", "question", "type")``) to 1-based line numbers of a YAML text.

    Built only from text that passes :func:`check_yaml` (bounded depth and expansion); the node walk is
    iterative and visits a node shared through an alias once.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: dict[PathKey, int] | None = None

    def _build(self) -> dict[PathKey, int]:
        lines: dict[PathKey, int] = {}
        try:
            check_yaml(self._text, "", aliases="cap")
            root = yaml.compose(self._text, Loader=_Loader)
        except (yaml.YAMLError, PromptFileError, RecursionError):
            return lines
        if root is None:
            return lines
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, PathKey]] = [(root, ())]
        while stack:
            node, path = stack.pop()
            lines.setdefault(path, node.start_mark.line + 1)
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in reversed(node.value):
                    key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)[:80]
                    sub = (*path, key)
                    lines[sub] = key_node.start_mark.line + 1
                    lines[(*sub, "__value__")] = value_node.start_mark.line + 1
                    if isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"):
                        lines[(*sub, "__block__")] = 1
                    stack.append((value_node, sub))
            elif isinstance(node, yaml.SequenceNode):
                for i in range(len(node.value) - 1, -1, -1):
                    stack.append((node.value[i], (*path, i)))
        return lines

    def is_block(self, path: Sequence[str | int]) -> bool:
        """Is the scalar at ``path`` a block scalar (``|`` or ``>``), whose text starts a line later?"""
        if self._lines is None:
            self._lines = self._build()
        return (*path, "__block__") in self._lines

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest existing prefix of ``path`` (None for an empty document)."""
        if self._lines is None:
            self._lines = self._build()
        p = tuple(path)
        while p:
            if p in self._lines:
                return self._lines[p]
            p = p[:-1]
        return self._lines.get(())


def _cached_parse(text: str, file: str, cache_dir: str, aliases: Aliases) -> Any:
    import tempfile

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    folder = os.path.join(cache_dir, "parsed-yaml")
    # v2: only documents that passed check_yaml (in the same aliases mode) are stored
    path = os.path.join(folder, f"{digest}.v2-{aliases}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        pass
    data = parse_yaml(text, file, aliases=aliases)
    if _json_exact(data):
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False)
            os.replace(tmp, path)  # atomic: concurrent runs never see a partial file
        except OSError:
            pass  # a read-only cache is only slower
    return data


def _json_exact(value: Any) -> bool:
    """Does ``value`` survive ``json.loads(json.dumps(value))`` unchanged?"""
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, list):
        return all(_json_exact(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_exact(v) for k, v in value.items())
    return False
