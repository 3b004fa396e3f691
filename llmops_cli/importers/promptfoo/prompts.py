"""promptfoo ``prompts`` → message lists: inline text, ``file://`` text / chat JSON / YAML, globs, labels."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ...errors import PromptFileError
from ..common import GapLog, load_data_file, read_bounded
from ..templates import nunjucks_to_jinja
from .state import CODE_EXT, State

_PROMPT_EXT = (".txt", ".md", ".j2", ".njk", ".nunjucks", ".prompt", ".json", ".yaml", ".yml", ".jsonl")


# -- prompts ------------------------------------------------------------------------------------------------


def map_prompts(st: State) -> list[tuple[str, list[tuple[str, str]], tuple[str | int, ...]]]:
    data, log = st.data, st.log
    raw = data.get("prompts")
    if raw is None:
        log.add(
            "approximated",
            ("prompts",),
            "no prompts",
            "the test variable `prompt` is sent as the user message, as promptfoo does",
        )
        return [("prompt", [("user", "{{ prompt }}")], ("prompts",))]
    if isinstance(raw, str):
        entries: list[tuple[Any, str | None, tuple[str | int, ...]]] = [(raw, None, ("prompts",))]
    elif isinstance(raw, list):
        entries = [(item, None, ("prompts", i)) for i, item in enumerate(raw)]
    elif isinstance(raw, dict):
        entries = [(k, v if isinstance(v, str) else None, ("prompts", k)) for k, v in raw.items()]
    else:
        raise PromptFileError(
            "`prompts` must be a string, a list or a mapping", file=log.file, line=log.line(("prompts",))
        )
    out: list[tuple[str, list[tuple[str, str]], tuple[str | int, ...]]] = []
    for item, label, path in entries:
        for plabel, messages, mpath, mlog in _prompt_item(st, item, label, path):
            converted: list[tuple[str, str]] = []
            ok = True
            for role, content in messages:
                jinja, rewritten = nunjucks_to_jinja(content, mlog, mpath)
                if jinja is None:
                    ok = False
                    break
                for r in rewritten:
                    st.mapped(r)
                converted.append((role, jinja))
            if ok and converted:
                out.append((plabel, converted, mpath))
                st.mapped("prompt")
    return out


def _prompt_item(
    st: State, item: Any, label: str | None, path: tuple[str | int, ...]
) -> list[tuple[str, list[tuple[str, str]], tuple[str | int, ...], GapLog]]:
    log = st.log
    if isinstance(item, dict):
        body = item.get("raw", item.get("content", item.get("id")))
        for extra in sorted(set(item) - {"raw", "content", "id", "label"}):
            log.add("unmapped", (*path, extra), f"prompt option `{extra}`", "no llmops equivalent")
        if not isinstance(body, str):
            log.add("unmapped", path, "prompt entry", "neither raw text nor a file reference")
            return []
        lab = item.get("label") if isinstance(item.get("label"), str) else None
        return _prompt_item(st, body, lab or (item.get("id") if isinstance(item.get("id"), str) else None), path)
    if not isinstance(item, str):
        log.add("unmapped", path, "prompt entry", "not a string or mapping")
        return []
    ref = item.strip()
    looks_like_file = ref.startswith("file://") or (
        "\n" not in ref and " " not in ref and ref.lower().endswith((*_PROMPT_EXT, *CODE_EXT))
    )
    if not looks_like_file:
        return [(label or "prompt", _messages_of_text(item, st, log, path), path, log)]
    name = ref[7:] if ref.startswith("file://") else ref
    func = None
    m = re.match(r"^(.*\.(?:js|mjs|cjs|ts|py)):(\w+)$", name)
    if m:
        name, func = m.group(1), m.group(2)
    if name.lower().endswith(CODE_EXT):  # kept as a stub prompt so the tests still land (see ..partial)
        from ..partial import placeholder, quote_source

        log.add(
            "unmapped",
            path,
            "prompt function" + (f" `{func}`" if func else ""),
            f"{name}: code that builds prompts cannot run in llmops; imported as a stub prompt marked import-gap "
            "(write it as a template)",
        )
        what = f"function `{func}` in {name}" if func else name
        stub = placeholder(f"this prompt is built by code ({what})", quote_source(st, name, func, log, path))
        stem = os.path.splitext(os.path.basename(name))[0]
        return [(label or func or stem, [("user", stub)], path, log)]
    if not ref.startswith("file://"):
        log.add("approximated", path, "bare prompt path", f"{name} read as a file, as promptfoo does")
    line = log.line(path)
    files = st.src.glob(name, file=log.file, line=line) if any(c in name for c in "*?[") else None
    if files is None:
        files = [st.src.resolve(name, file=log.file, line=line)]
    out: list[tuple[str, list[tuple[str, str]], tuple[str | int, ...], GapLog]] = []
    for fpath in files:
        text = read_bounded(fpath, file=log.file, line=line, what=st.src.label(fpath))
        flog = st.file_log(fpath, text)
        stem = os.path.splitext(os.path.basename(fpath))[0]
        lab = label if (label and len(files) == 1) else stem
        if fpath.endswith((".json", ".yaml", ".yml")):
            parsed = load_data_file(fpath, text, flog.file)
            if isinstance(parsed, str):
                out.append((lab, _messages_of_text(parsed, st, flog, ()), (), flog))
            elif isinstance(parsed, list):
                msgs = _chat(parsed, st, flog, ())
                if msgs:
                    out.append((lab, msgs, (), flog))
            else:
                flog.add("unmapped", (), "prompt file", "expected a chat message list or a string")
            continue
        parts = re.split(r"\n-{3,}\n", text) if "\n---\n" in text else [text]
        for j, part in enumerate(parts):
            if not part.strip():
                continue
            plab = lab if len(parts) == 1 else f"{lab}-{j + 1}"
            out.append((plab, _messages_of_text(part, st, flog, ()), (), flog))
        if len(parts) > 1:
            st.mapped("---separated prompts")
    return out


def _messages_of_text(text: str, st: State, log: GapLog, path: tuple[str | int, ...]) -> list[tuple[str, str]]:
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and parsed and all(isinstance(m, dict) and "role" in m for m in parsed):
            return _chat(parsed, st, log, path)
    return [("user", text)]


def _chat(items: list[Any], st: State, log: GapLog, path: tuple[str | int, ...]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, m in enumerate(items):
        mpath = (*path, i)
        if not isinstance(m, dict):
            log.add("unmapped", mpath, "chat message", "not a {role, content} mapping")
            continue
        role, content = m.get("role"), m.get("content")
        if role not in ("system", "user", "assistant"):
            log.add("unmapped", mpath, f"chat message with role `{role}`", "llmops messages are system/user/assistant")
            continue
        if not isinstance(content, str):
            log.add("unmapped", mpath, "non-text message content", "images, audio and tool parts are not imported")
            continue
        for extra in sorted(set(m) - {"role", "content"}):
            log.add("unmapped", (*mpath, extra), f"chat message field `{extra}`", "no llmops equivalent")
        out.append((role, content))
    if out:
        st.mapped("chat-format prompt")
    return out
