"""YAML parsing with line numbers for error messages.

Data is parsed with PyYAML's safe (C, when available) loader. Line numbers are computed lazily,
only when a message needs one, by composing the node tree and mapping each key path to its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from .errors import PromptFileError

try:  # the C loader is ~10x faster
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

PathKey = tuple[str | int, ...]


LARGE_YAML_CHARS = 32_768  # above this, parsed documents are worth caching (PyYAML builds objects in Python)


def parse_yaml(text: str, file: str, cache_dir: str | None = None) -> Any:
    """Parse YAML text; :class:`PromptFileError` with file:line on a syntax error.

    With ``cache_dir``, a large document's parsed form is kept as JSON under its content hash, so a
    1,000-case golden set loads in milliseconds the next time (only documents that survive a JSON round
    trip unchanged are cached: string keys, no dates).
    """
    if cache_dir and len(text) > LARGE_YAML_CHARS:
        return _cached_parse(text, file, cache_dir)
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        raise PromptFileError(f"invalid YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise PromptFileError(f"invalid YAML: {exc}", file=file) from None


class LineMap:
    """Maps key paths (``("inputs", "question", "type")``) to 1-based line numbers of a YAML text."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: dict[PathKey, int] | None = None

    def _build(self) -> dict[PathKey, int]:
        lines: dict[PathKey, int] = {}
        try:
            root = yaml.compose(self._text, Loader=_Loader)
        except yaml.YAMLError:
            return lines

        def walk(node: yaml.Node, path: PathKey) -> None:
            lines.setdefault(path, node.start_mark.line + 1)
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
                    sub = (*path, key)
                    lines[sub] = key_node.start_mark.line + 1
                    walk(value_node, sub)
                    lines[(*sub, "__value__")] = value_node.start_mark.line + 1
                    if isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"):
                        lines[(*sub, "__block__")] = 1
            elif isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    walk(item, (*path, i))

        if root is not None:
            walk(root, ())
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


def _cached_parse(text: str, file: str, cache_dir: str) -> Any:
    import hashlib
    import json
    import os
    import tempfile

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    folder = os.path.join(cache_dir, "parsed-yaml")
    path = os.path.join(folder, f"{digest}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        pass
    data = parse_yaml(text, file)
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
