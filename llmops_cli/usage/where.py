"""The ``--where`` language of ``llmops usage sample``: a small, bounded filter over logged calls.

::

    feedback < 0 or judge.rubric < 3 or outcome = error
    version = "1.2.0" and arm = canary and not (latency_ms <= 2000)

Grammar (keywords are lower case)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := FIELD OP VALUE            OP: = != < <= > >=
    VALUE      := number | 'text' | "text" | word

Fields — numbers: ``feedback`` (the mean feedback score of the call), ``judge.<metric>`` (the latest judge
score of that metric on the judge's 1..5 scale: ``1 + 4 × score``), ``latency_ms``, ``cost_usd``,
``tokens_in``, ``tokens_out``; text (``=`` and ``!=`` only): ``outcome``, ``version``, ``channel``, ``arm``,
``model``, ``error_class``, ``tag.<name>``. A comparison on a value the call does not have (no feedback, not
judged, no such tag) is false, so ``not`` is an ordinary negation.

It is parsed here, never evaluated: it compiles to a SQL condition over a fixed set of column expressions, every
value (and every metric or tag name) a bound parameter — nothing typed in ``--where`` becomes SQL text. Bounded:
at most :data:`MAX_CHARS` characters, :data:`MAX_TOKENS` tokens, :data:`MAX_DEPTH` nested levels and
:data:`MAX_METRICS` judge metrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

MAX_CHARS = 1000
MAX_TOKENS = 200
MAX_DEPTH = 16
MAX_METRICS = 8
MAX_VALUE_CHARS = 200

NUMERIC = {
    "feedback": "fb.fb_mean",
    "latency_ms": "c.latency_ms",
    "cost_usd": "c.cost_usd",
    "tokens_in": "c.tokens_in",
    "tokens_out": "c.tokens_out",
}
TEXT = {
    "outcome": "c.outcome",
    "version": "c.version",
    "channel": "c.channel",
    "arm": "c.arm",
    "model": "c.model",
    "error_class": "c.error_class",
}
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,199}"
_TOKEN = re.compile(
    rf"""\s*(?:
      (?P<op><=|>=|!=|=|<|>)
    | (?P<paren>[()])
    | (?P<num>-?(?:\d{{1,15}}(?:\.\d{{1,15}})?|\.\d{{1,15}})(?![A-Za-z0-9_.]))
    | '(?P<sq>[^'\n]{{0,{MAX_VALUE_CHARS}}})'
    | "(?P<dq>[^"\n]{{0,{MAX_VALUE_CHARS}}})"
    | (?P<word>{_NAME})
    )""",
    re.X,
)
_KEYWORDS = frozenset({"and", "or", "not"})


@dataclass
class Where:
    """A compiled ``--where``: the SQL condition (over ``c``, ``fb`` and ``j0``… ``jN``), its parameters and
    the judge metrics it reads (``jI`` is the latest score of ``metrics[I]``)."""

    text: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)


@dataclass
class _Tok:
    kind: str  # op, paren, num, str, word
    value: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise UsageError(f"--where: cannot read {text[pos:].strip()[:20]!r} (at character {pos + 1})")
        kind = next(k for k, v in m.groupdict().items() if v is not None)
        value = m.group(kind)
        out.append(_Tok("str" if kind in ("sq", "dq") else kind, value, m.start(kind)))
        if len(out) > MAX_TOKENS:
            raise UsageError(f"--where: more than {MAX_TOKENS} tokens")
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.params: dict[str, Any] = {}
        self.metrics: list[str] = []
        self.field_at = 0

    def fail(self, what: str) -> UsageError:
        tok = self.toks[self.i] if self.i < len(self.toks) else None
        where = f"at {tok.value[:20]!r} (character {tok.pos + 1})" if tok else "at the end"
        return UsageError(f"--where: {what} {where}")

    def peek(self, *kinds: str, value: str | None = None) -> bool:
        if self.i >= len(self.toks):
            return False
        tok = self.toks[self.i]
        return tok.kind in kinds and (value is None or tok.value == value)

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def param(self, value: Any) -> str:
        name = f"w{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def parse(self) -> str:
        if not self.toks:
            raise UsageError("--where: empty expression")
        sql = self.expr(0)
        if self.i < len(self.toks):
            raise self.fail("expected 'and', 'or' or the end")
        return sql

    def expr(self, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels")
        parts = [self.and_expr(depth)]
        while self.peek("word", value="or"):
            self.take()
            parts.append(self.and_expr(depth))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_expr(self, depth: int) -> str:
        parts = [self.not_expr(depth)]
        while self.peek("word", value="and"):
            self.take()
            parts.append(self.not_expr(depth))
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def not_expr(self, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels")
        if self.peek("word", value="not"):
            self.take()
            return f"(NOT {self.not_expr(depth + 1)})"
        if self.peek("paren", value="("):
            self.take()
            inner = self.expr(depth + 1)
            if not self.peek("paren", value=")"):
                raise self.fail("expected ')'")
            self.take()
            return inner
        return self.comparison()

    def field_sql(self, name: str) -> tuple[str, bool]:
        """``(SQL expression, numeric)`` of a field name."""
        if name in NUMERIC:
            return NUMERIC[name], True
        if name in TEXT:
            return TEXT[name], False
        if name.startswith("judge.") and len(name) > 6:
            metric = name[6:]
            if metric not in self.metrics:
                if len(self.metrics) >= MAX_METRICS:
                    raise self.fail(f"at most {MAX_METRICS} judge metrics")
                self.metrics.append(metric)
            return f"(j{self.metrics.index(metric)}.s * 4 + 1)", True
        if name.startswith("tag.") and len(name) > 4:
            path = self.param('$."' + name[4:] + '"')  # the name is [A-Za-z0-9_.:-]: no quote can close it
            return f"json_extract_string(c.tags, {path})", False
        known = ", ".join([*NUMERIC, "judge.<metric>", *TEXT, "tag.<name>"])
        self.i = self.field_at
        raise self.fail(f"unknown field (known: {known})")

    def comparison(self) -> str:
        if not self.peek("word") or self.toks[self.i].value in _KEYWORDS:
            raise self.fail("expected a field name")
        self.field_at = self.i
        column, numeric = self.field_sql(self.take().value)
        if not self.peek("op"):
            raise self.fail("expected one of = != < <= > >=")
        op = self.take().value
        if not self.peek("num", "str", "word") or self.toks[self.i].value in _KEYWORDS:
            raise self.fail("expected a value")
        tok = self.take()
        if numeric:
            if tok.kind != "num":
                raise UsageError(f"--where: {tok.value[:40]!r} (character {tok.pos + 1}) is not a number")
            value: Any = float(tok.value)
        else:
            if op not in ("=", "!="):
                raise UsageError(f"--where: text fields compare with = or != only (character {tok.pos + 1})")
            value = tok.value
        sql_op = "<>" if op == "!=" else op
        return f"coalesce({column} {sql_op} {self.param(value)}, false)"


def parse_where(text: str) -> Where:
    """Compile a ``--where`` expression; :class:`UsageError` (exit 2) naming the position of a problem."""
    if not isinstance(text, str):
        raise UsageError("--where: expected text")
    if len(text) > MAX_CHARS:
        raise UsageError(f"--where: at most {MAX_CHARS} characters")
    parser = _Parser(text)
    sql = parser.parse()
    return Where(text=text, sql=sql, params=parser.params, metrics=parser.metrics)
