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


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text; :class:`PromptFileError` with file:line on a syntax error."""
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
