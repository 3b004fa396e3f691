"""What one promptfoo config import accumulates (files read, gaps, counts), and helpers its parts share."""

from __future__ import annotations

import re
from typing import Any

from ...errors import PromptFileError
from ..common import MAX_FILES, GapLog, SourceDir
from ..report import Gap

CODE_EXT = (".js", ".mjs", ".cjs", ".ts", ".py")


class State:
    """Everything one config import accumulates."""

    def __init__(self, src: SourceDir, log: GapLog, data: dict[str, Any]) -> None:
        self.src = src
        self.log = log
        self.data = data
        self.logs: dict[str, GapLog] = {log.file: log}
        self.report_mapped: dict[str, int] = {}
        self.files = 0
        self.prompt_gaps: list[Gap] = []  # gaps every imported prompt carries (``prompt lint``: import-gap)
        # the first provider's tools, tool_choice and parallel_tool_calls (the prompts use that provider)
        self.tools: list[dict[str, Any]] = []
        self.tool_choice: Any = None
        self.parallel_tool_calls: bool | None = None

    def mapped(self, what: str, n: int = 1) -> None:
        self.report_mapped[what] = self.report_mapped.get(what, 0) + n

    def file_log(self, path: str, text: str | None) -> GapLog:
        label = self.src.label(path)
        if label not in self.logs:
            self.logs[label] = GapLog(label, text)
        self.files += 1
        if self.files > MAX_FILES:
            raise PromptFileError(f"more than {MAX_FILES} referenced files", file=self.log.file)
        return self.logs[label]


def safe_id(text: str) -> str:
    """A provider id for messages, with any URL credentials or query string cut off."""
    text = re.sub(r"//[^/@]*@", "//", text)
    return text.split("?", 1)[0][:120]
