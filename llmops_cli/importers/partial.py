"""Partial imports: what cannot map is kept as a marked gap, so everything else still lands.

* **Prompt stubs.** A prompt built by code (a JavaScript/TypeScript/Python function) or a template that cannot
  be translated becomes a *stub*: one user message marked ``[import-gap]`` that renders every variable the
  tests give (so the golden set and its assertions import and validate), with the original source quoted in a
  Jinja comment when it is readable under the config's folder. ``metadata.import.stub`` says why; lint
  reports it as a warning and ``eval run`` refuses the prompt (exit 2) until its messages are written.
* **Generated tests.** ``tests: file://gen.py:generate_tests`` (or ``.js``/``.ts``) cannot run here. The gap
  names a one-line command that exports the generated tests to ``<stem>.<function>.llmops-tests.json`` beside
  the generator; when that file exists, its tests are imported as a tests file.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import TYPE_CHECKING, Any

from ..errors import PromptFileError
from .common import DraftCase, GapLog, is_identifier, read_bounded

if TYPE_CHECKING:
    from .promptfoo.state import State

STUB_MARK = "[import-gap]"
MAX_QUOTED_LINES = 200
MAX_QUOTED_CHARS = 12_000
_PLACEHOLDER = re.compile(r"\x00llmops-import-stub:([A-Za-z0-9+/=]+)\x00")


# -- prompt stubs ----------------------------------------------------------------------------------------------


def extract_function(text: str, func: str | None, ext: str) -> tuple[str, int] | None:
    """(source, first line) of ``func`` in a JavaScript/TypeScript/Python file, or of the whole (bounded) file
    when ``func`` is None; None when the function is not found."""
    lines = text.splitlines()
    if func is None:
        return "\n".join(lines[:MAX_QUOTED_LINES]), 1
    name = re.escape(func)
    if ext == ".py":
        pat = re.compile(rf"^(\s*)(?:async\s+)?def\s+{name}\s*\(")
        for i, line in enumerate(lines):
            m = pat.match(line)
            if m:
                indent = len(m.group(1))
                end = i + 1
                while end < len(lines) and (
                    not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
                ):
                    end += 1
                return "\n".join(lines[i : min(end, i + MAX_QUOTED_LINES)]).rstrip(), i + 1
        return None
    pat = re.compile(
        rf"(?:^|[\s;])(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*{name}\s*[(<]|"
        rf"(?:const|let|var)\s+{name}\b[^=\n]{{0,200}}=|{name}\s*:\s*(?:async\s+)?(?:function\b|\(|\w+\s*=>)|"
        rf"(?:async\s+)?{name}\s*\([^)\n]{{0,500}}\)\s*\{{)",
        re.MULTILINE,
    )
    m = pat.search(text)
    if m is None:
        return None
    start = text.count("\n", 0, m.start() + (1 if text[m.start()] == "\n" else 0))
    depth, seen, end = 0, False, len(lines)
    for j in range(start, min(len(lines), start + MAX_QUOTED_LINES)):
        for ch in re.sub(r"(['\"`])(?:\\.|(?!\1).){0,2000}?\1|//.*$", "", lines[j][:4000]):
            if ch == "{":
                depth, seen = depth + 1, True
            elif ch == "}":
                depth -= 1
        if seen and depth <= 0:
            end = j + 1
            break
    return "\n".join(lines[start : min(end, start + MAX_QUOTED_LINES)]).rstrip(), start + 1


def quote_source(st: State, name: str, func: str | None, log: GapLog, path: tuple[str | int, ...]) -> str:
    """The code behind a prompt function, as text for a comment (or why it could not be read)."""
    try:
        real = st.src.resolve(name, file=log.file, line=log.line(path))
        text = read_bounded(real, file=log.file, line=log.line(path), what=name)
    except PromptFileError as exc:
        return f"(source not quoted: {exc.message})"
    found = extract_function(text, func, os.path.splitext(real)[1].lower())
    if found is None:
        return f"(source not quoted: no function `{func}` found in {st.src.label(real)})"
    source, first = found
    return f"--- {st.src.label(real)}, from line {first} ---\n{source[:MAX_QUOTED_CHARS]}"


def placeholder(reason: str, quoted: str) -> str:
    """A message body standing for a stub until the tests' variables are known (see :func:`fill_stub`)."""
    data = json.dumps({"reason": reason, "quoted": quoted}).encode()
    return "\x00llmops-import-stub:" + base64.b64encode(data).decode() + "\x00"


def stub_messages(reason: str, quoted: str, variables: list[str]) -> list[tuple[str, str]]:
    """The stub's one user message: a comment with the reason and the quoted source, then every variable."""
    safe = quoted.replace("#}", "# }").replace("{#", "{ #")
    comment = (
        "{#- " + STUB_MARK + " " + reason.replace("#}", "# }") + "\n"
        "    llmops prompts are templates: write this prompt's messages (the source is quoted below), then\n"
        "    delete this comment and metadata.import.stub. `llmops eval run` refuses the prompt until then.\n"
        + "\n".join("    " + line for line in safe.splitlines())
        + "\n-#}\n"
    )
    literal = re.sub(r"\{\{|\{%|\{#", lambda m: "{{ '" + m.group(0) + "' }}", reason)
    body = f"{STUB_MARK} {literal}\n" + "".join(f"{v}: {{{{ {v} }}}}\n" for v in variables)
    return [("user", comment + body)]


def stub_variables(cases: list[DraftCase], defaults: dict[str, Any]) -> list[str]:
    """Variable names the tests give, in order of first appearance (identifiers only)."""
    out: list[str] = []
    for source in [defaults, *(c.vars for c in cases)]:
        for k in source:
            if is_identifier(str(k)) and k not in out:
                out.append(str(k))
    return out


def fill_stub(
    messages: list[tuple[str, str]], cases: list[DraftCase], defaults: dict[str, Any]
) -> tuple[list[tuple[str, str]], str] | None:
    """(stub messages, reason) when ``messages`` hold a stub placeholder; None otherwise."""
    for _, text in messages:
        m = _PLACEHOLDER.search(text)
        if m:
            try:  # the marker comes from :func:`placeholder`; anything else that looks like one is not a stub
                data = json.loads(base64.b64decode(m.group(1), validate=True))
                reason, quoted = data["reason"], data["quoted"]
            except (ValueError, TypeError, KeyError):
                return None
            if not isinstance(reason, str) or not isinstance(quoted, str):
                return None
            return stub_messages(reason[:300], quoted[:MAX_QUOTED_CHARS], stub_variables(cases, defaults)), reason[:300]
    return None


# -- generated tests -------------------------------------------------------------------------------------------


def export_file(name: str, func: str | None) -> str:
    """Where the one-line export command writes a generator's tests (beside the generator)."""
    stem = os.path.splitext(name)[0]
    return f"{stem}.{func or 'default'}.llmops-tests.json"


def export_command(name: str, func: str | None) -> str:
    """A one-line command that runs a promptfoo test generator once and writes its tests as JSON."""
    out = export_file(name, func)
    if name.lower().endswith(".py"):
        folder, module = os.path.split(os.path.splitext(name)[0])
        fn = func or "generate_tests"
        return (
            f"python -c \"import json, sys; sys.path.insert(0, '{folder or '.'}'); from {module} import {fn}; "
            f"json.dump({fn}(), open('{out}', 'w'), indent=2, default=str)\""
        )
    member = f"m.{func} ?? m.default.{func}" if func else "m.default ?? m"
    runner = "npx tsx -e" if name.lower().endswith(".ts") else "node -e"
    return (
        f"{runner} \"import('./{name.lstrip('./')}').then(async (m) => {{ const f = {member}; "
        f"const t = typeof f === 'function' ? await f() : f; "
        f"require('fs').writeFileSync('{out}', JSON.stringify(t, null, 2)); }})\""
    )


def generated_tests(st: State, ref: str, path: tuple[str | int, ...], log: GapLog) -> str | None:
    """The export file of a code test generator (its tests are read as a tests file), or None: a gap naming the
    one-line command that writes it."""
    name = ref[7:] if ref.startswith("file://") else ref
    func = None
    m = re.match(r"^(.*\.(?:js|mjs|cjs|ts|py)):(\w+)$", name)
    if m:
        name, func = m.group(1), m.group(2)
    exported = export_file(name, func)
    command = export_command(name, func)
    try:
        real: str | None = st.src.resolve(exported, file=log.file, line=log.line(path))
    except PromptFileError:
        real = None
    what = "test generator" + (f" `{func}`" if func else "")
    if real is None or not os.path.isfile(real):
        log.add(
            "unmapped",
            path,
            what,
            f"{name}: code cannot run in llmops; export its tests once (run in the config's folder): "
            f"{command} — then import again",
        )
        return None
    log.add(
        "approximated",
        path,
        what,
        f"{name}: tests imported from its export {exported}; rerun `{command}` when the generator changes",
    )
    st.mapped("generated tests (export)")
    return real
