"""Template dialects → llmops's sandboxed Jinja.

* **Nunjucks** (promptfoo) is Jinja's JavaScript port; most syntax is shared. Rewritten: ``===``/``!==``,
  ``&&``/``||``, ``| dump`` → ``| tojson``, ``| nl2br``, ``.length``, ``.toUpperCase()``/``.toLowerCase()``/
  ``.trim()``/``.join()``, ``elseif``, ``verbatim``. Reported: ``env.*`` reads, whitespace around block tags
  (llmops trims it), and anything that still does not compile.
* **Mustache-style literal substitution** (GitHub Models, Prompty ``template: mustache``): only ``{{name}}`` of
  a known variable is replaced; every other ``{{``, ``{%`` or ``{#`` is literal text and is escaped.
"""

from __future__ import annotations

import re

from .common import GapLog, check_compiles

_TAG = re.compile(r"(\{\{-?)(.*?)(-?\}\})|(\{%-?)(.*?)(-?%\})|(\{#.*?#\})", re.DOTALL)
_METHODS = [
    (re.compile(r"\.toUpperCase\(\s*\)"), "|upper"),
    (re.compile(r"\.toLowerCase\(\s*\)"), "|lower"),
    (re.compile(r"\.trim\(\s*\)"), "|trim"),
    (re.compile(r"\.join\("), "|join("),
    (re.compile(r"\.length\b(?!\s*\()"), "|length"),
]
_JS_CALL = re.compile(r"\.(?:[a-z]+[A-Z]\w*)\(")  # remaining camelCase method calls: JavaScript, not Jinja


def _expr(inner: str, log: GapLog, path: tuple[str | int, ...], notes: set[str]) -> str:
    out = inner
    out = out.replace("!==", "!=").replace("===", "==")
    out = re.sub(r"\s*&&\s*", " and ", out)
    out = re.sub(r"\s*\|\|\s*", " or ", out)
    out = re.sub(r"\|\s*dump\b", "| tojson", out)
    out = re.sub(r"\|\s*nl2br\b", '| replace("\\n", "<br />\\n")', out)
    for pattern, repl in _METHODS:
        out = pattern.sub(repl, out)
    if re.search(r"\benv\s*\.\s*[A-Za-z_]\w*", out):
        names = re.findall(r"\benv\s*\.\s*([A-Za-z_]\w*)", out)
        out = re.sub(r"\benv\s*\.\s*([A-Za-z_]\w*)", r"env_\1", out)
        for n in names:
            if n not in notes:
                notes.add(n)
                log.add(
                    "unmapped",
                    path,
                    f"environment variable env.{n} read by the template",
                    f"llmops never reads the environment in templates; it became the input `env_{n}` (default '')",
                )
    if out != inner:
        notes.add("__rewritten__")
    return out


def nunjucks_to_jinja(text: str, log: GapLog, path: tuple[str | int, ...]) -> tuple[str | None, list[str]]:
    """(Jinja text, constructs rewritten) — None when the template cannot be expressed (reported)."""
    notes: set[str] = set()
    rewritten: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            inner = _expr(m.group(2), log, path, notes)
            return f"{m.group(1)}{inner}{m.group(3)}"
        if m.group(4):
            inner = m.group(5)
            inner = re.sub(r"^(\s*)elseif\b", r"\1elif", inner)
            inner = re.sub(r"^(\s*)(end)?verbatim\b", lambda x: f"{x.group(1)}{x.group(2) or ''}raw", inner)
            inner = _expr(inner, log, path, notes)
            return f"{m.group(4)}{inner}{m.group(6)}"
        return m.group(7)

    out = _TAG.sub(sub, text)
    if "__rewritten__" in notes:
        rewritten.append("Nunjucks expression syntax rewritten for Jinja")
    if _JS_CALL.search(" ".join(m.group(0) for m in _TAG.finditer(out) if not m.group(7))):
        log.add(
            "unmapped", path, "JavaScript method call in the template", "not available in Jinja; prompt not imported"
        )
        return None, rewritten
    if re.search(r"\{%-?\s*(include|import|from|extends)\b", out):
        log.add(
            "unmapped",
            path,
            "Nunjucks include/import/extends",
            "llmops includes partials from its partials folder only; prompt not imported",
        )
        return None, rewritten
    error = check_compiles(out)
    if error:
        log.add("unmapped", path, "template that does not compile as Jinja", f"{error}; prompt not imported")
        return None, rewritten
    if re.search(r"\{%(?!-)", out) or re.search(r"(?<!-)%\}", out):
        log.add(
            "approximated",
            path,
            "whitespace around {% %} block tags",
            "llmops trims the newline after a block tag and the indentation before it (Nunjucks keeps them)",
        )
    return out, rewritten


_MUSTACHE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_SPECIAL = re.compile(r"\{\{|\{%|\{#")


def _escape_literal(text: str) -> str:
    return _SPECIAL.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)


def literal_to_jinja(text: str, known: set[str] | None) -> tuple[str, set[str], list[str]]:
    """GitHub Models substitution: ``{{name}}`` of a known variable (any identifier when ``known`` is None)
    becomes ``{{ name }}``; all other text is literal. Returns (Jinja text, variables, placeholders kept literal)."""
    out: list[str] = []
    used: set[str] = set()
    literal: list[str] = []
    pos = 0
    for m in _MUSTACHE.finditer(text):
        name = m.group(1)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and (known is None or name in known):
            out.append(_escape_literal(text[pos : m.start()]))
            out.append("{{ " + name + " }}")
            used.add(name)
            pos = m.end()
        else:
            literal.append(m.group(0))
    out.append(_escape_literal(text[pos:]))
    return "".join(out), used, literal
