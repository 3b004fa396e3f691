"""Mustache and Handlebars templates (Prompty ``template: mustache`` / ``handlebars``) → sandboxed Jinja.

Translated with the source engine's meaning:

* ``{{name}}`` (HTML-escaped, as both engines print it: ``& < > "``, plus ``' ` =`` in Handlebars),
  ``{{{name}}}`` and ``{{& name}}`` (raw), dotted names, ``{{.}}`` / ``{{this}}``, comments ``{{! }}``;
* Mustache sections ``{{#x}}…{{/x}}`` (a list iterates with each item on the context stack, a truthy value
  renders once with it pushed, a falsy one not at all) and inverted sections ``{{^x}}…{{/x}}``; inside a
  section a name is looked up on the items first, then outwards, as Mustache's context stack does;
* Handlebars ``{{#each}}`` (with ``{{else}}``, ``@index``, ``@first``, ``@last``, ``@key``), ``{{#if}}`` /
  ``{{#unless}}`` (with ``{{else}}``; an empty object is truthy as in JavaScript), ``{{#with}}``, ``../``
  parent references and ``~`` whitespace control.

Standalone section and comment lines vanish in Mustache; llmops's Jinja trims block lines the same way
(``trim_blocks``/``lstrip_blocks``). Reported, never guessed: partials ``{{> name}}`` (their text is not in the
file), set-delimiter tags, helpers other than the above, and anything that does not parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .common import check_compiles

MAX_DEPTH = 16  # nested sections
MAX_TAGS = 5_000
_NO_HELPERS = "custom Handlebars helpers cannot run in llmops"
_SPECIAL = re.compile(r"\{\{|\{%|\{#|%\}|#\}")

_TAG = re.compile(r"\{\{(\{)?(~)?(.*?)(~)?\}\}(?(1)\})", re.DOTALL)
_NAME = re.compile(r"^(?:\.\./)*(?:[A-Za-z_$@][\w$-]*|\.|this)(?:[./][A-Za-z_$][\w$-]*)*$")
_ESC_MUSTACHE = [("&", "&amp;"), ('"', "&quot;"), ("<", "&lt;"), (">", "&gt;")]
_ESC_HANDLEBARS = [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"), ("`", "&#x60;"),
                   ("=", "&#x3D;")]  # fmt: skip


class Untranslatable(Exception):
    """A construct with no faithful Jinja translation (its name and why, for the import report)."""

    def __init__(self, construct: str, detail: str, line: int) -> None:
        super().__init__(f"{construct}: {detail}")
        self.construct, self.detail, self.line = construct, detail, line


@dataclass
class _Frame:
    var: str  # the Jinja variable holding this context
    kind: str  # "section" (Mustache), "each", "with", "if"
    loop: bool = False  # `loop` refers to this frame's for-loop
    tag: str = ""  # the closing name expected
    has_else: bool = False


@dataclass
class _State:
    handlebars: bool
    known: set[str] | None
    frames: list[_Frame] = field(default_factory=list)
    counter: int = 0
    out: list[str] = field(default_factory=list)
    constructs: set[str] = field(default_factory=set)


def translate(text: str, *, handlebars: bool = False, known: set[str] | None = None) -> tuple[str, set[str]]:
    """(Jinja text, constructs translated). :class:`Untranslatable` for a construct with no equivalent.

    ``known``: the template's top-level variables (declared inputs); a name missing from every enclosing
    section falls back to a top-level variable only when it is one (else it renders empty, as in the source).
    """
    st = _State(handlebars, known)
    pos = 0
    if len(_SPECIAL.findall(text)) > MAX_TAGS:  # tags plus literal `{{`/`{%`/`{#` to escape: bounds the Jinja
        raise Untranslatable("template", f"more than {MAX_TAGS} tags", 1)
    for start, end, m in _tags(text):
        st.out.append(_literal(text[pos:start]))
        pos = end
        line = text.count("\n", 0, start) + 1
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        alone = not text[line_start:start].strip() and not text[end : len(text) if line_end < 0 else line_end].strip()
        _tag(st, m, line, alone)
    st.out.append(_literal(text[pos:]))
    if st.frames:
        raise Untranslatable(f"section `{st.frames[-1].tag}`", "is never closed", text.count("\n") + 1)
    jinja = "".join(st.out)
    error = check_compiles(jinja)
    if error:  # a translation bug or an odd input: report, never emit a broken template
        raise Untranslatable("template", f"translation does not compile ({error})", 1)
    return jinja, st.constructs


def _tags(text: str) -> list[tuple[int, int, re.Match[str]]]:
    """(start, end, parsed tag) of every ``{{…}}`` / ``{{{…}}}``, found with ``str.find`` (linear: an unclosed
    ``{{`` ends the scan instead of being retried from every later ``{{``)."""
    out: list[tuple[int, int, re.Match[str]]] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            return out
        closer = "}}}" if text.startswith("{{{", start) else "}}"
        end = text.find(closer, start + len(closer))
        if end < 0:
            return out  # the rest is literal text, as in Mustache
        end += len(closer)
        m = _TAG.fullmatch(text, start, end)
        if m is None:  # e.g. `{{{x}}` : not a tag the engines accept
            raise Untranslatable(f"`{text[start:end][:60]}`", "not a well-formed tag", text.count("\n", 0, start) + 1)
        out.append((start, end, m))
        pos = end


def _literal(text: str) -> str:
    return _SPECIAL.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)


def _tag(st: _State, m: re.Match[str], line: int, alone: bool) -> None:
    """One tag. ``alone``: the only thing on its line, so a section/comment tag removes the line (Mustache's
    standalone rule, which llmops's trim_blocks/lstrip_blocks reproduce); elsewhere ``+`` keeps whitespace."""
    triple, lstrip, body, rstrip = m.group(1), m.group(2), m.group(3), m.group(4)
    if lstrip or rstrip:
        if not st.handlebars:
            raise Untranslatable("`~` whitespace control", "Handlebars only", line)
        st.constructs.add("whitespace control")
    lo, ro = ("-" if lstrip else ""), ("-" if rstrip else "")
    inner = body.strip()
    if inner[:1] in ("#", "^", "/") or (st.handlebars and inner == "else"):
        lo, ro = lo or ("" if alone else "+"), ro or ("" if alone else "+")
    if triple:
        st.out.append("{{" + lo + " " + _raw(_lookup(st, inner, line)) + " " + ro + "}}")
        st.constructs.add("raw {{{ }}}")
        return
    sigil = inner[:1]
    rest = inner[1:].strip()
    if sigil == "!":  # a standalone comment line vanishes (trimmed like a block); inline, it is just dropped
        if alone:
            st.out.append("{#" + lo + " " + rest.replace("#}", "# }") + " " + ro + "#}")
        return
    if sigil == ">":
        raise Untranslatable(
            f"partial `{{{{> {rest[:60]}}}}}`",
            "its template is not in this file: put it in the partials folder as a .j2 file and "
            '{% include "NAME.j2" %} it',
            line,
        )
    if sigil == "=":
        raise Untranslatable("set-delimiter tag", "custom delimiters have no Jinja equivalent", line)
    if sigil == "&":
        st.out.append("{{" + lo + " " + _raw(_lookup(st, rest, line)) + " " + ro + "}}")
        st.constructs.add("raw {{& }}")
        return
    if sigil == "#":
        _open(st, rest, line, lo, ro)
        return
    if sigil == "^":
        if st.handlebars and not rest:
            _else(st, line, lo, ro)
            return
        expr = _lookup(st, rest, line)
        st.out.append("{%" + lo + f" if not ({expr}) " + ro + "%}")
        st.frames.append(_Frame("", "inverted", tag=rest))
        st.constructs.add("inverted section")
        _depth(st, line)
        return
    if sigil == "/":
        _close(st, rest, line, lo, ro)
        return
    if st.handlebars and inner == "else":
        _else(st, line, lo, ro)
        return
    if st.handlebars and " " in inner:
        raise Untranslatable(
            f"helper call `{{{{{inner[:60]}}}}}`", "custom Handlebars helpers cannot run in llmops", line
        )
    expr = _lookup(st, inner, line)
    table = _ESC_HANDLEBARS if st.handlebars else _ESC_MUSTACHE
    escaped = "".join(f" | replace({a!r}, {b!r})" for a, b in table)
    st.out.append("{{" + lo + f" ('' if ({expr}) is none else ({expr})) | string{escaped} " + ro + "}}")


def _raw(expr: str) -> str:
    return f"('' if ({expr}) is none else ({expr}))"


def _depth(st: _State, line: int) -> None:
    if len(st.frames) > MAX_DEPTH:
        raise Untranslatable("nested sections", f"more than {MAX_DEPTH} levels", line)


def _open(st: _State, rest: str, line: int, lo: str, ro: str) -> None:
    st.counter += 1
    var = f"mu_{st.counter}"
    words = rest.split()
    if st.handlebars and words and words[0] in ("each", "if", "unless", "with"):
        helper = words[0]
        if len(words) != 2:
            raise Untranslatable(
                f"`{{{{#{rest[:60]}}}}}`", "block parameters and extra arguments are not translated", line
            )
        expr = _lookup(st, words[1], line)
        if helper == "each":  # an object iterates its values (in order), with @key its keys
            st.out.append(
                "{%" + lo + f" set {var}s = {expr} %}}{{% for {var} in (({var}s.values() | list) if {var}s is mapping "
                f"else ({var}s or [])) " + ro + "%}"
            )
            st.frames.append(_Frame(var, "each", loop=True, tag="each"))
        elif helper in ("if", "unless"):
            truthy = f"(({expr}) is mapping or ({expr}))"
            cond = truthy if helper == "if" else f"not {truthy}"
            st.out.append("{%" + lo + f" if {cond} " + ro + "%}")
            st.frames.append(_Frame("", "if", tag=helper))
        else:
            st.out.append("{%" + lo + f" set {var} = {expr} %}}{{% if ({var}) is mapping or ({var}) " + ro + "%}")
            st.frames.append(_Frame(var, "with", tag="with"))
        st.constructs.add(f"#{helper}")
        _depth(st, line)
        return
    if st.handlebars and " " in rest:
        raise Untranslatable(f"helper `{{{{#{rest[:60]}}}}}`", _NO_HELPERS, line)
    # a Mustache section (Handlebars treats an unknown block name the same way)
    expr = _lookup(st, rest, line)
    st.out.append(
        "{%" + lo + f" set {var}s = {expr} %}}{{% for {var} in ({var}s if ({var}s is iterable and {var}s is not "
        f"string and {var}s is not mapping) else ([{var}s] if {var}s else [])) " + ro + "%}"
    )
    st.frames.append(_Frame(var, "section", loop=True, tag=rest))
    st.constructs.add("section")
    _depth(st, line)


def _else(st: _State, line: int, lo: str, ro: str) -> None:
    if not st.frames or st.frames[-1].kind not in ("each", "if", "with") or st.frames[-1].has_else:
        raise Untranslatable("`{{else}}`", "outside #each / #if / #unless / #with", line)
    frame = st.frames[-1]
    frame.has_else = True
    st.out.append("{%" + lo + " else " + ro + "%}")
    if frame.kind == "with":
        frame.var = ""  # the else branch sees the outer context
    st.constructs.add("{{else}}")


def _close(st: _State, rest: str, line: int, lo: str, ro: str) -> None:
    if not st.frames:
        raise Untranslatable(f"`{{{{/{rest[:60]}}}}}`", "closes no open section", line)
    frame = st.frames.pop()
    if rest != frame.tag:
        raise Untranslatable(f"`{{{{/{rest[:60]}}}}}`", f"closes `{frame.tag}`", line)
    end = "endfor" if frame.kind in ("each", "section") else "endif"
    st.out.append("{%" + lo + f" {end} " + ro + "%}")


def _lookup(st: _State, name: str, line: int) -> str:
    """The Jinja expression of a Mustache/Handlebars name in the current context stack."""
    if not _NAME.match(name):
        raise Untranslatable(f"`{{{{{name[:60]}}}}}`", "not a variable name", line)
    contexts = [f for f in st.frames if f.var]
    if name.startswith("@"):
        each = next((f for f in reversed(st.frames) if f.loop), None)
        if not st.handlebars or each is None or each is not st.frames[-1] or each.kind != "each":
            raise Untranslatable(f"`{{{{{name}}}}}`", "only directly inside #each", line)
        data = {
            "@index": "loop.index0",
            "@first": "loop.first",
            "@last": "loop.last",
            "@key": f"(({each.var}s.keys() | list)[loop.index0] if {each.var}s is mapping else loop.index0)",
        }
        if name not in data:
            raise Untranslatable(f"`{{{{{name}}}}}`", "unknown data variable", line)
        st.constructs.add(name)
        return data[name]
    ups = 0
    while name.startswith("../"):
        ups += 1
        name = name[3:]
        st.constructs.add("../ parent reference")
    if ups:
        contexts = contexts[: len(contexts) - ups] if ups <= len(contexts) else []
    if name in (".", "this"):
        if not contexts:
            raise Untranslatable(f"`{{{{{name}}}}}`", "the whole top-level context has no llmops equivalent", line)
        return contexts[-1].var
    parts = re.split(r"[./]", name.removeprefix("this.").removeprefix("this/"))
    if name.startswith(("this.", "this/")):
        if not contexts:
            return _path(parts[0], parts[1:])
        return _path(f"{contexts[-1].var}[{parts[0]!r}]", parts[1:])
    head, tail = parts[0], parts[1:]
    top = head if (not contexts or st.known is None or head in st.known) else "''"
    if not re.fullmatch(r"[A-Za-z_]\w*", head) or head.startswith("__"):
        raise Untranslatable(f"`{{{{{name[:60]}}}}}`", "not a variable name llmops accepts", line)
    if st.handlebars and contexts and not ups:
        c = contexts[-1].var  # Handlebars looks in the current context only
        return _path(f"({c}[{head!r}] if ({c} is mapping and {head!r} in {c}) else '')", tail)
    expr = top
    for f in contexts:  # innermost last: each wraps the outer lookup
        expr = f"({f.var}[{head!r}] if ({f.var} is mapping and {head!r} in {f.var}) else {expr})"
    return _path(expr, tail)


def _path(expr: str, tail: list[str]) -> str:
    for part in tail:
        expr = f"({expr})[{part!r}]"
    return expr
