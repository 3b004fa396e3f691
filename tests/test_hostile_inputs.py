"""Hostile inputs, as a fork's pull request would send them, against the real CLI.

Every input below is written into a fresh temporary project (or git repository) and run through the CLI's
entry point (``llmops_cli.cli.app.main``, in-process, with a hard alarm; every 8th input also through
``python -m llmops_cli`` in a subprocess). Each must end, within 5 seconds, in either

* exit 2 with exactly one ``error:`` line naming the offending file (or option), and no traceback, or
* where the input is *data* (a variable's value), a literal render: exit 0, the text printed as given;

and no output may contain the canaries planted in files a template must never reach (``.git/config``,
``llmops.yaml``, a file outside the prompts folder). The inputs are data: add a row to add a case.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import run_cli

PROMPT = "prompts/p.prompt.yaml"
GOLDEN = "evals/p.yaml"
CONFIG = "llmops.yaml"
CANARIES = ("CANARY-GIT-CONFIG", "CANARY-LLMOPS-YAML", "CANARY-SECRET-FILE", "CANARY-ETC")
TIME_LIMIT_S = 5.0

BASE_CONFIG = "# CANARY-LLMOPS-YAML\nmodels:\n  chat:\n    model: openai/gpt-4o-mini-2024-07-18\n"
BASE_GOLDEN = "cases:\n  - id: c1\n    vars: {q: hello}\n"


def prompt_yaml(content: str = "Q: {{ q }}", *, head: str = "", message: str | None = None) -> str:
    """A prompt file: ``head`` lines go before ``messages`` (params, inputs…)."""
    body = "\n".join("      " + line for line in content.splitlines()) or "      x"
    msg = message if message is not None else f"  - role: user\n    content: |\n{body}\n"
    inputs = "inputs:\n  q: {type: string, default: x}\n" if "inputs:" not in head else ""
    return f"model: chat\n{inputs}{head}messages:\n{msg}"


@dataclass(frozen=True)
class H:
    """One hostile input: files over the base project, the command, and what must happen."""

    id: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    args: tuple[str, ...] = ("prompt", "render", "p")
    code: int = 2
    names: str = PROMPT  # the file (or option) the error line must name
    literal: str | None = None  # exit 0 and this exact text in stdout (data renders literally)
    finding: str | None = None  # exit 1 and this lint finding code (for `prompt lint`)
    links: dict[str, str] = field(default_factory=dict)  # symlink path -> target


def T(id: str, content: str, **kw: object) -> H:
    files = kw.pop("files", {})
    return H(id, {PROMPT: prompt_yaml(content), **files}, **kw)  # type: ignore[arg-type, dict-item]


# -- 1. server-side template injection classics (the template itself is hostile) --------------------------------
SSTI = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ {}.__class__.__mro__ }}",
    "{{ (1).__class__.__mro__ }}",
    "{{ q.__class__ }}",
    "{{ q.__init__.__globals__ }}",
    "{{ q.__doc__ }}",
    "{{ q.mro() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ cycler.next.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ lipsum(1) }}",
    "{{ range.__self__ }}",
    "{{ range.__call__ }}",
    "{{ dict.__base__ }}",
    "{{ dict.mro() }}",
    "{{ self.__dict__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.cycler }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ config.__class__.__init__.__globals__ }}",
    "{{ request }}",
    "{{ request.application.__globals__.__builtins__ }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ g.pop.__globals__ }}",
    "{{ session }}",
    "{{ settings.SECRET_KEY }}",
    "{{ environment }}",
    "{{ loop.__class__ }}",
    "{{ ''['__class__'] }}",
    "{{ q['__class__'] }}",
    "{{ ''|attr('__class__') }}",
    "{{ q|attr('__class__')|attr('__mro__') }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ q|attr(['__cla','ss__']|join) }}",
    "{{ '{0.__class__}'.format(q) }}",
    "{{ '{0.__class__.__mro__}'.format(1) }}",
    "{{ '{.__globals__}'.format(cycler.__init__) }}",
    "{{ '%s'|format(''.__class__) }}",
    "{{ ''.format_map.__self__ }}",
    "{{ q.gi_frame }}",
    "{{ q.f_globals }}",
    "{% set x = ''.__class__ %}{{ x }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{% macro m() %}{{ caller.__globals__ }}{% endmacro %}{% call m() %}x{% endcall %}",
    "{% with a = q.__class__ %}{{ a }}{% endwith %}",
    "{{ [1].append(2) }}",
    "{{ [1].pop() }}",
    "{{ [3, 1].sort() }}",
    "{{ [1].clear() }}",
    "{{ [1].extend([2]) }}",
    "{{ [1].insert(0, 1) }}",
    "{{ [1].reverse() }}",
    "{{ {}.update(a=1) }}",
    "{{ {}.setdefault('a', 1) }}",
    "{{ {'a': 1}.popitem() }}",
    "{% set d = {} %}{% set d.x = 1 %}",
    "{{ undefined_variable }}",
    "{{ q.no_such_attribute.deeper }}",
    "{{ q() }}",
    "{{ 1|dictsort }}",
    "{{ 1|first }}",
    "{{ 1 / 0 }}",
    "{{ [][5] }}",
    "{{ {}['missing'] }}",
    "{{ q.upper()() }}",
    "{% include q %}",
    "{% import q as m %}",
    "{{ ",
    "{% for %}",
    "{% endfor %}",
    "{% raw %}",
    "{{ x | no_such_filter }}",
    "{% if x is no_such_test %}{% endif %}",
    "{% extends 'missing.j2' %}",
]

# -- 2. bounds on work: loops, numbers, repetition, recursion, output size ---------------------------------------
NEST = "{% set a = [1]*100000 %}{% set b = [a,a,a,a,a,a,a,a,a,a] %}{% set c = [b,b,b,b,b,b,b,b,b,b] %}"
DOS = [
    "{{ 9**(9**9) }}",
    "{{ 10**100000 }}",
    "{{ (10**100000)|string }}",
    "{{ 2**100000 }}",
    "{{ (2**5000) * (2**5000) * (2**5000) }}",
    "{{ 'a'*10**11 }}",
    "{{ 'a'*10000000 }}",
    "{{ [0]*10**9 }}",
    "{{ ['x']*(10**6+1) }}",
    "{{ ('ab'*400000) + ('cd'*400000) }}",
    "{{ range(100000)|list }}",
    "{{ range(10**9)|list }}",
    "{{ range(0, 10**12, 2)|list }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ '' }}{% endfor %}{% endfor %}",
    "{% for i in range(5000) %}{{ 'x' * 1000 }}{% endfor %}",
    "{% for i in range(10000) %}{% for j in range(1000) %}.{% endfor %}{% endfor %}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
    "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
    "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l * 2 %}{% endfor %}",
    "{{ 'a'|center(10**9) }}",
    "{{ 'a'.center(10**9) }}",
    "{{ 'a'.ljust(10**9) }}",
    "{{ 'a'.rjust(10**9) }}",
    "{{ 'a'.zfill(10**9) }}",
    "{{ 'a\\tb'.expandtabs(10**9) }}",
    "{{ 'x'|indent(10**9) }}",
    "{{ 'x\\ny'|indent('a' * 100000) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%*d' % (10**9, 1) }}",
    "{{ '%.999999999f' % 1.5 }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '{:{w}}'.format(1, w=10**9) }}",
    "{{ '{0:>{1}}'.format('a', 999999999) }}",
    "{{ '{:0999999999}'.format(1) }}",
    "{{ ('a'*1000)|replace('a', 'a'*1000)|replace('a', 'a'*1000) }}",
    "{{ ('a'*1000).replace('a', 'a'*1001) }}",
    "{{ ('a'*100000).join(['b']*100000) }}",
    "{{ ['b']*1000|join('a'*10000) }}",
    "{{ 'abc'.translate({97: 'x'*10**6}) }}",
    "{{ range(10)|batch(10**9, 'x')|list }}",
    "{{ range(10)|slice(10**9)|list }}",
    "{{ [1]|tojson(indent=10**9) }}",
    "{{ 'a b c'|wordwrap(1, wrapstring='x'*10**5) }}",
    "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
    "{{ " + "[" * 3000 + "]" * 3000 + " }}",
    "{{ " + "-" * 5000 + "1 }}",
    "{{ 1" + " + 1" * 20000 + " }}",
    "{% if 1 %}" * 3000 + "{% endif %}" * 3000,
    "{% for i in range(100) %}" * 200 + "{% endfor %}" * 200,
    # nested structures: short at the top, enormous when written out (str(), tojson, ~, %, format)
    "{{ [[1]*10000]*10000 }}",
    "{{ ([[0]*1000]*1000)|string|length }}",
    "{{ [[[1]*100]*100]*100 }}",
    NEST + "{{ c }}",
    NEST + "{{ c|string|length }}",
    NEST + "{{ c|tojson|length }}",
    NEST + "{{ c|pprint|length }}",
    NEST + "{{ (c ~ '')|length }}",
    NEST + "{{ c|join(',')|length }}",
    NEST + "{{ ('%s' % (c,))|length }}",
    NEST + "{{ '{}'.format(c)|length }}",
    NEST + "{{ {'k': c}|dictsort }}",
]

# -- 3. paths: message templates and partials confined to their folders, no .git, no symlink out -----------------
_TPL = "  - role: user\n    template: {}\n"


def TP(id: str, template: str, **kw: object) -> H:
    files = kw.pop("files", {})
    return H(id, {PROMPT: prompt_yaml(message=_TPL.format(json.dumps(template))), **files}, **kw)  # type: ignore[arg-type]


PATHS = [
    TP("template-dotdot-git-config", "../.git/config"),
    TP("template-dotdot-git-config-2", "../../.git/config"),
    TP("template-dotdot-config", "../llmops.yaml"),
    TP("template-dotdot-secret", "../secret.txt"),
    TP("template-abs-etc-passwd", "/etc/passwd"),
    TP("template-abs-etc-hostname", "/etc/hostname"),
    TP("template-abs-proc", "/proc/self/environ"),
    TP("template-deep-dotdot", "../../../../../../etc/passwd"),
    TP("template-dot-dotdot", "./../secret.txt"),
    TP("template-sub-dotdot", "sub/../../secret.txt"),
    TP("template-inside-dotdot", "_partials/../p.prompt.yaml"),
    TP("template-backslash", "..\\\\secret.txt"),
    TP("template-dotgit-in-prompts", ".git/config", files={"prompts/.git/config": "CANARY-GIT-CONFIG\n"}),
    TP("template-dotgit-nested", "x/.git/HEAD", files={"prompts/x/.git/HEAD": "CANARY-GIT-CONFIG\n"}),
    TP("template-missing", "nope.j2"),
    TP("template-empty", ""),
    TP("template-nul", "a\x00b.j2"),
    TP("template-newline", "a\nb.j2"),
    TP("template-long-name", "a" * 5000 + ".j2"),
    TP("template-is-directory", "_partials"),
    TP("template-symlink-git-config", "evil.j2", links={"prompts/evil.j2": "../.git/config"}),
    TP("template-symlink-config", "evil.j2", links={"prompts/evil.j2": "../llmops.yaml"}),
    TP("template-symlink-abs-secret", "evil.j2", links={"prompts/evil.j2": "{root}/secret.txt"}),
    TP("template-symlink-etc", "evil.j2", links={"prompts/evil.j2": "/etc/hostname"}),
    TP("template-symlink-dir", "d/secret.txt", links={"prompts/d": ".."}),
    TP("template-symlink-chain", "a.j2", links={"prompts/a.j2": "b.j2", "prompts/b.j2": "../secret.txt"}),
    TP("template-symlink-loop", "loop.j2", links={"prompts/loop.j2": "loop.j2"}),
    TP("template-symlink-dangling", "gone.j2", links={"prompts/gone.j2": "nowhere.j2"}),
    T("include-dotdot-config", "{% include '../llmops.yaml' %}"),
    T("include-dotdot-git", "{% include '../../.git/config' %}"),
    T("include-abs", "{% include '/etc/passwd' %}"),
    T("include-dotgit", "{% include '.git/config' %}", files={"prompts/_partials/.git/config": "CANARY-GIT-CONFIG"}),
    T("include-deep-dotdot", "{% include '../../../../../../etc/passwd' %}"),
    T("include-sub-dotdot", "{% include 'a/../../p.prompt.yaml' %}"),
    T("import-dotdot", "{% import '../../llmops.yaml' as m %}"),
    T("from-import-dotdot", "{% from '../../secret.txt' import x %}"),
    T("extends-abs", "{% extends '/etc/passwd' %}"),
    T("extends-dotdot", "{% extends '../../.git/config' %}"),
    T("include-list-dotdot", "{% include ['../../secret.txt'] %}"),
    T("include-missing", "{% include 'nope.j2' %}"),
    H(
        "include-symlink-git-config",
        {PROMPT: prompt_yaml("{% include 'evil.j2' %}")},
        links={"prompts/_partials/evil.j2": "../../.git/config"},
    ),
    H(
        "include-symlink-config",
        {PROMPT: prompt_yaml("{% include 'evil.j2' %}")},
        links={"prompts/_partials/evil.j2": "../../llmops.yaml"},
    ),
    H(
        "include-symlink-prompt",
        {PROMPT: prompt_yaml("{% include 'evil.j2' %}")},
        links={"prompts/_partials/evil.j2": "../p.prompt.yaml"},
    ),
    H(
        "include-symlink-etc",
        {PROMPT: prompt_yaml("{% include 'evil.j2' %}")},
        links={"prompts/_partials/evil.j2": "/etc/hostname"},
    ),
    H(
        "include-nested-partial-dotdot",
        {PROMPT: prompt_yaml("{% include 'ok.j2' %}"), "prompts/_partials/ok.j2": "{% include '../../secret.txt' %}"},
        names="prompts/_partials/ok.j2",
    ),
    H("config-partials-in-git", {CONFIG: BASE_CONFIG + "paths: {partials: .git}\n"}, names=CONFIG),
    H("config-partials-abs", {CONFIG: BASE_CONFIG + "paths: {partials: /etc}\n"}, names=CONFIG),
    H("config-prompts-dotdot", {CONFIG: BASE_CONFIG + "paths: {prompts: ../x}\n"}, names=CONFIG),
    H("config-evals-dotdot", {CONFIG: BASE_CONFIG + "paths: {evals: ../../}\n"}, names=CONFIG),
]
# lint reports confinement problems as the `template-path` finding (exit 1: a check found problems)
LINT_PATHS = [
    H(f"lint-{h.id}", h.files, ("prompt", "lint", "p"), code=1, finding="template-path", links=h.links)
    for h in PATHS
    if h.id.startswith(("template-dotdot", "template-abs", "template-symlink-git", "template-symlink-config"))
    or h.id.startswith(("include-dotdot", "include-abs", "include-symlink-git", "extends-"))
]

# -- 4. YAML: alias bombs, nesting, duplicate keys, non-finite numbers, tags, sizes -------------------------------
BOMB = "\n".join(
    [
        "  a: &a [x, x, x, x, x, x, x, x, x]",
        "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
        "  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
        "  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]",
        "  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]",
        "  i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]",
    ]
)
DEEP_FLOW = "[" * 100_000 + "]" * 100_000
DEEP_BLOCK = "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n"


def P(id: str, head: str, **kw: object) -> H:
    return H(id, {PROMPT: prompt_yaml(head=head)}, **kw)  # type: ignore[arg-type]


def G(id: str, text: str, file: str = GOLDEN, **kw: object) -> H:
    files = {file: text} if file == GOLDEN else {file: text, GOLDEN: None}
    return H(id, files, ("prompt", "render", "p", "--case", "c1"), names=file, **kw)  # type: ignore[arg-type]


def C(id: str, text: str, **kw: object) -> H:
    return H(id, {CONFIG: text}, ("prompt", "list"), names=CONFIG, **kw)  # type: ignore[arg-type]


YAML = [
    P("prompt-bomb-metadata", f"metadata:\n{BOMB}\n"),
    P("prompt-bomb-params", "params: &p {temperature: 0}\nmetadata: {x: *p}\n"),
    P("prompt-alias-default", "inputs:\n  q: {type: string, default: &d hello}\n  r: {type: string, default: *d}\n"),
    P("prompt-anchor-only", "metadata: &m {a: 1}\n"),
    P("prompt-merge-key", "metadata:\n  base: &b {a: 1}\n  more: {<<: *b}\n"),
    P("prompt-recursive-alias", "metadata: &m [*m]\n"),
    P("prompt-deep-flow", f"metadata: {DEEP_FLOW}\n"),
    P("prompt-deep-flow-map", "metadata: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"),
    P(
        "prompt-deep-block",
        "metadata:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(100)) + "  " * 101 + "v\n",
    ),
    P("prompt-duplicate-top", "description: a\ndescription: b\n"),
    P("prompt-duplicate-model", "model: other\n"),
    P("prompt-duplicate-nested", "metadata:\n  a: 1\n  a: 2\n"),
    P("prompt-duplicate-flow", "params: {temperature: 0, temperature: 1}\n"),
    P("prompt-duplicate-input", "inputs:\n  q: {type: string}\n  q: {type: number}\n"),
    P("prompt-nan-temperature", "params: {temperature: .nan}\n"),
    P("prompt-inf-max-tokens", "params: {max_tokens: .inf}\n"),
    P("prompt-neg-inf-top-p", "params: {top_p: -.Inf}\n"),
    P("prompt-nan-upper", "params: {temperature: .NaN}\n"),
    P("prompt-float-overflow", "params: {temperature: 1.0e+400}\n"),
    P("prompt-tagged-nan", "params: {temperature: !!float nan}\n"),
    P("prompt-nan-default", "inputs:\n  q: {type: number, default: .nan}\n"),
    P("prompt-inf-metadata", "metadata: {score: .inf}\n"),
    P("prompt-nan-enum", "inputs:\n  q: {type: number, enum: [1, .nan], default: 1}\n"),
    P("prompt-python-object", "metadata: !!python/object/apply:os.system ['echo pwned']\n"),
    P("prompt-python-name", "metadata: !!python/name:os.system\n"),
    P("prompt-python-module", "metadata: !!python/module:os\n"),
    H("prompt-two-documents", {PROMPT: prompt_yaml() + "---\nmodel: x\n"}),
    H("prompt-not-mapping", {PROMPT: "- a\n- b\n"}),
    H("prompt-scalar", {PROMPT: "just text\n"}),
    H("prompt-empty", {PROMPT: ""}),
    H("prompt-tab-indent", {PROMPT: "model: chat\nmessages:\n\t- role: user\n"}),
    H("prompt-unclosed-quote", {PROMPT: 'model: "chat\nmessages: []\n'}),
    H("prompt-binary", {PROMPT: b"\x00\x01\x02model: chat\n"}),
    H("prompt-bad-utf8", {PROMPT: b"model: chat\ndescription: \xff\xfe\n"}),
    H("prompt-too-large", {PROMPT: prompt_yaml(head="description: '" + "a" * (1024 * 1024 + 10) + "'\n")}),
    H(
        "prompt-too-many-lines",
        {PROMPT: prompt_yaml(head="metadata:\n" + "".join(f"  k{i}: 1\n" for i in range(80000)))},
    ),
    P("prompt-too-many-nodes", "metadata: [" + "1," * 60000 + "]\n"),
    C("config-too-many-nodes", BASE_CONFIG + "extra: [" + "1," * 60000 + "]\n"),
    H(
        "template-file-too-large",
        {PROMPT: prompt_yaml(message=_TPL.format("big.j2")), "prompts/big.j2": "a" * (1024 * 1024 + 1)},
    ),
    H(
        "template-file-binary",
        {PROMPT: prompt_yaml(message=_TPL.format("bin.j2")), "prompts/bin.j2": b"\x00\x00"},
        names="prompts/bin.j2",
    ),
    G(
        "golden-bomb-vars",
        f"cases:\n  - id: c1\n    vars:\n      q: x\n    metadata:\n{BOMB.replace('  ', '      ', 1)}\n",
    ),
    G("golden-bomb-defaults", "defaults:\n  vars: &v {q: x}\ncases:\n  - id: c1\n    vars: *v\n"),
    G("golden-alias-context", "cases:\n  - id: c1\n    vars: {q: &q hello}\n  - id: c2\n    vars: {q: *q}\n"),
    G("golden-anchor-only", "cases:\n  - &c {id: c1, vars: {q: x}}\n"),
    G("golden-merge", "base: &b {q: x}\ncases:\n  - id: c1\n    vars: {<<: *b}\n"),
    G("golden-deep-flow", f"cases:\n  - id: c1\n    vars: {{q: {DEEP_FLOW}}}\n"),
    G(
        "golden-deep-block",
        "cases:\n  - id: c1\n    metadata:\n"
        + "".join("      " + "  " * i + f"k{i}:\n" for i in range(80))
        + "      "
        + "  " * 80
        + "v\n",
    ),
    G("golden-duplicate-case-key", "cases:\n  - id: c1\n    id: c2\n    vars: {q: x}\n"),
    G("golden-duplicate-vars", "cases:\n  - id: c1\n    vars: {q: x, q: y}\n"),
    G("golden-duplicate-top", "cases: []\ncases:\n  - id: c1\n"),
    G("golden-nan-var", "cases:\n  - id: c1\n    vars: {q: x, n: .nan}\n"),
    G(
        "golden-inf-weight",
        "cases:\n  - id: c1\n    vars: {q: x}\n    assert: [{type: contains, value: a, weight: .inf}]\n",
    ),
    G(
        "golden-nan-threshold",
        "cases:\n  - id: c1\n    vars: {q: x}\n    assert: [{type: judge, criteria: c, threshold: .nan}]\n",
    ),
    G("golden-nan-min-pass-rate", "defaults: {min_pass_rate: .nan}\ncases:\n  - id: c1\n"),
    G("golden-overflow-float", "cases:\n  - id: c1\n    vars: {q: x, n: 9.9e+999}\n"),
    G("golden-python-tag", "cases:\n  - id: c1\n    vars: !!python/object/apply:os.system ['echo pwned']\n"),
    G("golden-not-list", "cases: 5\n"),
    G("golden-binary", b"\x00cases: []\n"),
    G("golden-bad-utf8", b"cases:\n  - id: \xff\n"),
    G("jsonl-nan", '{"id": "c1", "vars": {"q": NaN}}\n', file="evals/p.jsonl"),
    G("jsonl-infinity", '{"id": "c1", "vars": {"q": -Infinity}}\n', file="evals/p.jsonl"),
    G("jsonl-overflow", '{"id": "c1", "vars": {"q": 1e999}}\n', file="evals/p.jsonl"),
    G("jsonl-duplicate-key", '{"id": "c1", "id": "c2"}\n', file="evals/p.jsonl"),
    G("jsonl-deep", '{"id": "c1", "vars": {"q": ' + "[" * 100_000 + "]" * 100_000 + "}}\n", file="evals/p.jsonl"),
    G("jsonl-not-json", "{id: c1}\n", file="evals/p.jsonl"),
    G("jsonl-control-id", '{"id": "c\\u0001"}\n', file="evals/p.jsonl"),
    C("config-bomb", BASE_CONFIG + "judge:\n  samples: 1\nx-bomb:\n" + BOMB + "\n"),
    C(
        "config-bomb-params",
        BASE_CONFIG + "    params: &p {temperature: 0}\n  other: {model: x, params: *p}\n" + "z:\n" + BOMB + "\n",
    ),
    C("config-recursive-alias", BASE_CONFIG + "gate: &g {overrides: *g}\n"),
    C("config-deep-flow", BASE_CONFIG + f"extra: {DEEP_FLOW}\n"),
    C("config-deep-block", BASE_CONFIG + "extra:\n" + DEEP_BLOCK),
    C("config-duplicate-models", BASE_CONFIG + "models: {}\n"),
    C("config-duplicate-alias", BASE_CONFIG + "  chat:\n    model: y\n"),
    C("config-duplicate-nested", BASE_CONFIG + "eval:\n  repeat: 1\n  repeat: 2\n"),
    C("config-nan-concurrency", BASE_CONFIG + "concurrency: .nan\n"),
    C("config-inf-margin", BASE_CONFIG + "gate: {margin: .inf}\n"),
    C("config-nan-timeout", BASE_CONFIG + "eval: {timeout_s: .nan}\n"),
    C("config-nan-alias-param", BASE_CONFIG + "    params: {temperature: .nan}\n"),
    C("config-python-tag", BASE_CONFIG + "judge: !!python/object/apply:os.system ['echo pwned']\n"),
    C("config-too-large", BASE_CONFIG + "# " + "x" * (1024 * 1024 + 10) + "\n"),
    C("config-binary", "\x00\x01"),
    C("config-concurrency-huge", BASE_CONFIG + "concurrency: 100000000\n"),
    C("config-repeat-huge", BASE_CONFIG + "eval: {repeat: 100000000}\n"),
    C("config-judge-samples-huge", BASE_CONFIG + "judge: {samples: 100000}\n"),
    C("config-retries-huge", BASE_CONFIG + "eval: {max_retries: 100000000}\n"),
    H(
        "vars-file-bomb",
        {"v.yaml": "q: x\nz:\n" + BOMB + "\n"},
        ("prompt", "render", "p", "--vars", "v.yaml"),
        names="v.yaml",
    ),
    H("vars-file-deep", {"v.yaml": f"q: {DEEP_FLOW}\n"}, ("prompt", "render", "p", "--vars", "v.yaml"), names="v.yaml"),
    H("vars-file-duplicate", {"v.yaml": "q: a\nq: b\n"}, ("prompt", "render", "p", "--vars", "v.yaml"), names="v.yaml"),
    H("vars-file-nan", {"v.yaml": "q: .nan\n"}, ("prompt", "render", "p", "--vars", "v.yaml"), names="v.yaml"),
    H("vars-file-binary", {"v.yaml": b"\xff\xfe\x00"}, ("prompt", "render", "p", "--vars", "v.yaml"), names="v.yaml"),
]

# -- 5. strict parsing: params allowlist, names and case ids, numeric options -------------------------------------
CALL_CHANGING = [
    "mock_response",
    "extra_body",
    "api_key",
    "api_base",
    "base_url",
    "headers",
    "extra_headers",
    "callbacks",
    "success_callback",
    "failure_callback",
    "timeout",
    "custom_llm_provider",
    "model",
    "messages",
    "stream",
    "num_retries",
    "fallbacks",
    "metadata",
    "api_version",
    "organization",
    "aws_access_key_id",
    "vertex_credentials",
    "input_cost_per_token",
    "litellm_logging_obj",
    "proxy",
    "response_format",
    "tools",
    "user",
    "Temperature",
]
PARAMS = [P(f"param-{k}", f"params: {{{k}: x}}\n") for k in CALL_CHANGING]
PARAMS += [
    P("param-extra-body-key", "params: {extra_body: {api_key: sk-x, api_base: 'http://evil'}}\n"),
    P("param-temperature-range", "params: {temperature: 100}\n"),
    P("param-temperature-type", "params: {temperature: hot}\n"),
    P("param-temperature-bool", "params: {temperature: true}\n"),
    P("param-max-tokens-negative", "params: {max_tokens: -1}\n"),
    P("param-max-tokens-float", "params: {max_tokens: 1.5}\n"),
    P("param-stop-type", "params: {stop: 5}\n"),
    P("param-stop-too-many", "params: {stop: [" + ", ".join(["a"] * 40) + "]}\n"),
    P("param-n-huge", "params: {n: 1000000}\n"),
    P("param-logit-bias-nan", "params: {logit_bias: {'1': .nan}}\n"),
    P("param-reasoning-effort", "params: {reasoning_effort: maximal}\n"),
    P("param-non-string-key", "params: {1: 2}\n"),
]
PARAMS += [
    C(f"config-param-{k}", BASE_CONFIG + f"    params: {{{k}: x}}\n")
    for k in ("mock_response", "extra_body", "api_key", "api_base", "headers", "callbacks", "timeout")
]
PARAMS += [
    C("config-api-key-env-is-a-key", BASE_CONFIG + "    api_key_env: sk-live-1234\n"),
    C("config-unknown-field", BASE_CONFIG + "    mock_response: hi\n"),
]

NAMES = [
    H("name-5000-chars", args=("prompt", "render", "a" * 5000), names="5,000 characters"),
    H("name-201-chars", args=("prompt", "render", "a" * 201), names="201 characters"),
    H("name-dotdot", args=("prompt", "render", "faq/../faq/answer"), names="'..'"),
    H("name-dotdot-escape", args=("prompt", "render", "../llmops"), names="'..'"),
    H("name-dotdot-git", args=("prompt", "render", "../../.git/config"), names="'..'"),
    H("name-absolute", args=("prompt", "render", "/etc/passwd"), names="relative"),
    H("name-control", args=("prompt", "render", "p\x01"), names="control"),
    H("name-escape-seq", args=("prompt", "render", "p\x1b[31m"), names="control"),
    H("name-newline", args=("prompt", "render", "p\nerror: fake"), names="control"),
    H("name-backslash", args=("prompt", "render", "..\\p"), names="backslash"),
    H("name-lint-5000", args=("prompt", "lint", "b" * 5000), code=1, finding="not-found"),
    H("case-arg-5000", args=("prompt", "render", "p", "--case", "c" * 5000), names=GOLDEN),
    H("case-arg-control", args=("prompt", "render", "p", "--case", "c\x1b[2J"), names=GOLDEN),
    H("var-file-5000", args=("prompt", "render", "p", "--var", "q=@" + "f" * 5000), names="cannot read"),
    H("vars-path-5000", args=("prompt", "render", "p", "--vars", "v" * 5000), names="v" * 100),
    H("root-5000", args=("-C", "r" * 5000, "prompt", "list"), names="r" * 100),
    G("jsonl-vars-deep-900", '{"id": "c1", "vars": {"q": ' + "[" * 900 + "]" * 900 + "}}\n", file="evals/p.jsonl"),
    G("jsonl-vars-deep-65", '{"id": "c1", "vars": {"q": ' + "[" * 65 + "]" * 65 + "}}\n", file="evals/p.jsonl"),
    G("jsonl-vars-huge-int", '{"id": "c1", "vars": {"q": ' + "9" * 5000 + "}}\n", file="evals/p.jsonl"),
    G("case-id-control", 'cases:\n  - id: "c1\\x01"\n    vars: {q: x}\n'),
    G("case-id-escape", 'cases:\n  - id: "c1\\e[31m"\n    vars: {q: x}\n'),
    G("case-id-newline", 'cases:\n  - id: "c1\\nc2"\n    vars: {q: x}\n'),
    G("case-id-nul", 'cases:\n  - id: "c\\0"\n    vars: {q: x}\n'),
    G("case-id-del", 'cases:\n  - id: "c\\x7f"\n    vars: {q: x}\n'),
    G("case-id-line-separator", 'cases:\n  - id: "c\\u2028"\n    vars: {q: x}\n'),
    G("case-id-dotdot", "cases:\n  - id: a/../b\n    vars: {q: x}\n"),
    G("case-id-dotdot-only", "cases:\n  - id: ..\n    vars: {q: x}\n"),
    G("case-id-absolute", "cases:\n  - id: /etc/passwd\n    vars: {q: x}\n"),
    G("case-id-long", "cases:\n  - id: " + "c" * 201 + "\n    vars: {q: x}\n"),
    G("case-id-empty", "cases:\n  - id: ''\n    vars: {q: x}\n"),
    H(
        "prompt-file-control-name",
        {"prompts/bad\x01name.prompt.yaml": prompt_yaml()},
        ("prompt", "render", "bad\x01name"),
        names="control",
    ),
]

OPTIONS = [
    H("opt-repeat-huge", args=("eval", "run", "--repeat", "100000000"), names="--repeat"),
    H("opt-repeat-zero", args=("eval", "run", "--repeat", "0"), names="--repeat"),
    H("opt-repeat-negative", args=("eval", "run", "-r", "-5"), names="-r"),
    H("opt-repeat-bigint", args=("eval", "run", "--repeat", "9" * 5000), names="--repeat"),
    H("opt-concurrency-huge", args=("eval", "run", "--concurrency", "100000"), names="--concurrency"),
    H("opt-concurrency-zero", args=("eval", "run", "-j", "0"), names="--concurrency"),
    H("opt-judge-samples-huge", args=("eval", "run", "--judge-samples", "100000"), names="--judge-samples"),
    H("opt-timeout-zero", args=("eval", "run", "--timeout", "0"), names="--timeout"),
    H("opt-timeout-nan", args=("eval", "run", "--timeout", "nan"), names="--timeout"),
    H("opt-timeout-inf", args=("eval", "run", "--timeout", "inf"), names="--timeout"),
    H("opt-timeout-huge", args=("eval", "run", "--timeout", "1e300"), names="--timeout"),
    H("opt-max-retries-huge", args=("eval", "run", "--max-retries", "100000000"), names="--max-retries"),
    H("opt-shard-zero", args=("eval", "run", "--shard", "0/0"), names="--shard"),
    H("opt-shard-bigint", args=("eval", "run", "--shard", "1/" + "9" * 5000), names="--shard"),
    H("opt-shard-garbage", args=("eval", "run", "--shard", "a/b"), names="--shard"),
    H("opt-gate-concurrency-huge", args=("eval", "gate", "--base", "HEAD", "-j", "1000000"), names="--concurrency"),
]

# -- 6. results files (eval show / report / compare / merge / gate --head): strict JSON, every field typed -----------
RESULTS = "r.json"


def results_doc(**over: object) -> dict:
    """A minimal valid results file; ``over`` replaces top-level parts."""
    rec = {
        "prompt": "p", "case_id": "c1", "sample": 0, "cluster": None, "output": "o", "request_hash": "h",
        "error": None, "status": "pass", "cost_usd": None, "score": 1.0, "tokens": {"prompt": 1, "completion": 1},
        "judge": {"samples": 0, "errors": 0, "cost_usd": 0.0},
        "assertions": [{"type": "equals", "metric": "equals", "score": 1.0, "passed": True, "reason": "ok"}],
    }  # fmt: skip
    summary = {
        "passed": True,
        "totals": {"samples": 1, "passed": 1, "failed": 0, "errors": 0, "judge_errors": 0, "cost_usd": 0.0},
        "prompts": {
            "p": {
                "status": "pass", "cases": 1, "samples": 1, "passed": 1, "failed": 0, "errors": 0, "judge_calls": 0,
                "judge_errors": 0, "replays": 0, "pass_rate": 1.0, "min_pass_rate": 1.0, "error_rate": 0.0,
                "max_error_rate": 0.0, "metrics": {"equals": {"mean": 1.0, "n": 1}},
                "tokens": {"generation": {"prompt": 1, "completion": 1}, "judge": {"prompt": 0, "completion": 0}},
                "cost_usd": {"generation": 0.0, "judge": 0.0, "total": 0.0}, "latency_ms": {"p50": 1.0, "p95": 1.0},
            }
        },
    }  # fmt: skip
    doc = {
        "schema_version": 1,
        "kind": "llmops-eval-results",
        "run": {"repeat": 1, "judge_samples": 1, "config_hash": "x", "judges": {}, "execution": {"id": "r"}},
        "prompts": {"p": {"min_pass_rate": 1.0, "clusters": {"c1": None}}},
        "summary": summary,
        "samples": [rec],
    }
    doc.update(over)  # type: ignore[arg-type]
    return doc


def _with(path: str, value: object) -> str:
    """The valid results file with the value at ``path`` (dotted, ``[i]`` for list items) replaced."""
    doc = results_doc()
    cur: object = doc
    steps = [int(x) if x.isdigit() else x for x in path.replace("[", ".").replace("]", "").split(".")]
    for step in steps[:-1]:
        cur = cur[step]  # type: ignore[index]
    cur[steps[-1]] = value  # type: ignore[index]
    return json.dumps(doc)


_RESULT_COMMANDS = (
    ("eval", "show", RESULTS, "--failed"),
    ("eval", "report", RESULTS, "--html", "out.html"),
    ("eval", "merge", RESULTS, "--out", "m.json", "--junit", "j.xml"),
    ("eval", "compare", RESULTS, RESULTS, "-f", "json"),
)
_VALID = json.dumps(results_doc())
RESULT_TEXTS = {
    "nan-literal": _VALID.replace('"score": 1.0', '"score": NaN', 1),
    "infinity-literal": _VALID.replace('"cost_usd": null', '"cost_usd": Infinity', 1),
    "neg-infinity-literal": _VALID.replace('"cost_usd": null', '"cost_usd": -Infinity', 1),
    "overflow-float": _VALID.replace('"cost_usd": null', '"cost_usd": 1e400', 1),
    "huge-int": _VALID.replace('"sample": 0', '"sample": ' + "9" * 5000, 1),
    "big-int": _VALID.replace('"sample": 0', '"sample": ' + "9" * 40, 1),
    "duplicate-key": _VALID.replace('"status": "pass"', '"status": "fail", "status": "pass"', 1),
    "duplicate-top-key": _VALID.replace('"kind": "llmops-eval-results"', '"kind": "x", "kind": "llmops-eval-results"'),
    "deep-array": _VALID.replace('"output": "o"', '"output": "o", "x": ' + "[" * 100_000 + "]" * 100_000, 1),
    "deep-object": _VALID.replace('"output": "o"', '"output": "o", "x": ' + '{"a":' * 500 + "1" + "}" * 500, 1),
    "deep-200": _VALID.replace('"error": null', '"error": ' + "[" * 200 + "]" * 200, 1),
    "not-utf8": "BYTES",
    "truncated": _VALID[:-10],
    "empty": "",
    "top-level-array": "[" + _VALID + "]",
    "run-execution-string": _with("run.execution", "x"),
    "run-execution-shard-garbage": _with("run.execution", {"shard": "a/b"}),
    "run-execution-shard-huge": _with("run.execution", {"shard": "1/" + "9" * 500}),
    "run-judges-list": _with("run.judges", [{}]),
    "run-repeat-null-merge": _with("run.repeat", "3"),
    "prompts-min-pass-rate-string": _with("prompts.p.min_pass_rate", "high"),
    "prompts-min-pass-rate-above-1": _with("prompts.p.min_pass_rate", 7),
    "prompts-judges-object": _with("prompts.p.judges", {"a": 1}),
    "summary-string": _with("summary", "x"),
    "summary-prompts-list": _with("summary.prompts", []),
    "summary-prompts-null": _with("summary.prompts", None),
    "summary-passed-null": _with("summary.passed", None),
    "summary-prompt-empty": _with("summary.prompts.p", {}),
    "summary-metrics-mean-object": _with("summary.prompts.p.metrics.equals.mean", {}),
    "summary-tokens-missing": _with("summary.prompts.p.tokens", {}),
    "summary-cost-string": _with("summary.totals.cost_usd", "1"),
    "summary-prompt-cost-empty": _with("summary.prompts.p.cost_usd", {}),
    "summary-prompt-latency-empty": _with("summary.prompts.p.latency_ms", {}),
    "summary-totals-empty": _with("summary.totals", {}),
    "summary-pass-rate-negative": _with("summary.prompts.p.pass_rate", -0.5),
    "sample-assertions-null": _with("samples[0].assertions", None),
    "sample-assertion-reason-list": _with("samples[0].assertions[0].reason", [1]),
    "sample-judge-tokens-string": _with("samples[0].judge", {"samples": 0, "errors": 0, "tokens": {"prompt": "x"}}),
    "sample-case-id-object": _with("samples[0].case_id", {}),
    "sample-tokens-float": _with("samples[0].tokens.prompt", 1.5),
    "sample-replay-string": _with("samples[0].replay", "yes"),
    "sample-prompt-escape": _with("samples[0].prompt", "p\x1b[2J"),
    "sample-prompt-dotdot": _with("samples[0].prompt", "../p"),
    "sample-case-id-escape": _with("samples[0].case_id", "c1\x1b[31m"),
    "sample-case-id-5000": _with("samples[0].case_id", "c" * 5000),
    "sample-metric-escape": _with("samples[0].assertions[0].metric", "m\x1b]0;title\x07"),
    "sample-cluster-escape": _with("samples[0].cluster", "k\x1b[8m"),
    "prompts-key-escape": json.dumps(results_doc(prompts={"p\x1b[31m": {}})),
    "summary-metric-escape": _with("summary.prompts.p.metrics", {"m\u2028": {"mean": 1.0, "n": 1}}),
}
RESULTS_CASES = [
    H(
        f"results-{name}-{cmd[1]}",
        {RESULTS: text.encode() if name != "not-utf8" else b"\xff\xfe{\x00"},
        cmd,
        names=RESULTS,
    )
    for name, text in RESULT_TEXTS.items()
    for cmd in _RESULT_COMMANDS
]


def test_results_free_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """Reasons and errors are free text (they quote model output): printed escaped, never as escape codes; an
    assertion without ``threshold`` or ``reason`` is shown, not a KeyError."""
    doc = results_doc()
    rec = doc["samples"][0]
    rec["status"] = "fail"
    rec["assertions"][0].update(passed=False, score=0.0, reason="bad \x1b[2J\x1b[31mFAKE OK\x07 \x9b31m")
    root = tmp_path / "proj"
    _project(root, H("x", {RESULTS: json.dumps(doc)}))
    code, stdout, stderr = run_in_process(("eval", "show", RESULTS, "--failed"), root)
    assert code in (0, 1) and "\x1b" not in stdout + stderr and "\x07" not in stdout + stderr, stderr
    assert "FAKE OK" in stdout
    del rec["assertions"][0]["reason"]
    rec["error"] = {"kind": "http\x1b[31m", "message": "boom\x1b]0;pwned\x07", "attempts": 1}
    (root / RESULTS).write_text(json.dumps(doc))
    code, stdout, stderr = run_in_process(("eval", "show", RESULTS, "--failed"), root)
    assert code in (0, 1) and "\x1b" not in stdout + stderr, stderr
    assert "boom" in stdout


# -- 7. data renders literally: a variable's VALUE is never a template --------------------------------------------
VALUES = [
    "{{ 7*7 }}",
    "{{ 9**(9**9) }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ config }}",
    "{{ self._TemplateReference__context }}",
    "{% include '../../.git/config' %}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{# comment #}",
    "{% raw %}{{ x }}{% endraw %}",
    "{{",
    "}}{{",
    "%s %d %(x)s",
    "{0.__class__}",
    "$(id) `id` ; rm -rf /",
]
LITERAL = [
    H(f"var-literal-{i}", args=("prompt", "render", "p", "--var", f"q={v}"), code=0, literal=f"Q: {v}")
    for i, v in enumerate(VALUES)
]
LITERAL += [
    H(
        f"case-literal-{i}",
        {GOLDEN: "cases:\n  - id: c1\n    vars: {q: " + json.dumps(v) + "}\n"},
        ("prompt", "render", "p", "--case", "c1"),
        code=0,
        literal=f"Q: {v}",
    )
    for i, v in enumerate(VALUES)
]
LITERAL += [
    H(
        f"vars-file-literal-{i}",
        {"v.json": json.dumps({"q": v})},
        ("prompt", "render", "p", "--vars", "v.json"),
        code=0,
        literal=f"Q: {v}",
    )
    for i, v in enumerate(VALUES[:8])
]

CASES: list[H] = [
    *[T(f"ssti-{i:02d}", t) for i, t in enumerate(SSTI)],
    *[T(f"dos-{i:02d}", t) for i, t in enumerate(DOS)],
    *PATHS,
    *LINT_PATHS,
    *YAML,
    *PARAMS,
    *NAMES,
    *OPTIONS,
    *RESULTS_CASES,
    *LITERAL,
]


def _project(root: Path, case: H) -> None:
    files: dict[str, str | bytes | None] = {
        CONFIG: BASE_CONFIG,
        PROMPT: prompt_yaml(),
        "prompts/_partials/ok.j2": "partial text\n",
        GOLDEN: BASE_GOLDEN,
        "secret.txt": "CANARY-SECRET-FILE\n",
        ".git/config": "[core]\n# CANARY-GIT-CONFIG\n\textraheader = AUTHORIZATION: basic CANARY-GIT-CONFIG\n",
        **case.files,
    }
    for rel, text in files.items():
        if text is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    for rel, target in case.links.items():
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        os.symlink(target.replace("{root}", str(root)), link)


def check(r_code: int, stdout: str, stderr: str, elapsed: float, case: H) -> None:
    """The contract every hostile input is held to."""
    output = stdout + stderr
    assert elapsed < TIME_LIMIT_S, f"took {elapsed:.1f} s"
    assert "Traceback" not in output, output[-2000:]
    assert "internal error" not in output, output[-2000:]
    for canary in CANARIES:
        assert canary not in output, f"{canary} leaked: {output[-1000:]}"
    if case.literal is not None:
        assert r_code == 0, output[-2000:]
        assert case.literal in stdout, stdout[-2000:]
        return
    if case.finding is not None:
        assert r_code == 1, output[-2000:]
        assert f"[{case.finding}]" in stdout, stdout[-2000:]
        return
    assert r_code == case.code, output[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr[-2000:]
    assert case.names in errors[0], errors[0][:500]


def _alarm(signum: int, frame: object) -> None:
    raise TimeoutError("a hostile input ran past the time limit")


def run_in_process(args: tuple[str, ...], cwd: Path) -> tuple[int, str, str]:
    """``llmops ARGS`` through the console entry point, output captured, under a hard alarm."""
    from llmops_cli.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S * 2)
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(before)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input(tmp_path: Path, case: H) -> None:
    root = tmp_path / "proj"
    _project(root, case)
    t0 = time.monotonic()
    code, stdout, stderr = run_in_process(case.args, root)
    check(code, stdout, stderr, time.monotonic() - t0, case)


@pytest.mark.parametrize("case", CASES[::8], ids=lambda c: c.id)
def test_hostile_input_as_a_process(tmp_path: Path, case: H) -> None:
    """The same contract through a real ``python -m llmops_cli`` process, for every 8th input."""
    root = tmp_path / "proj"
    _project(root, case)
    t0 = time.monotonic()
    r = run_cli(*case.args, cwd=root, timeout=TIME_LIMIT_S * 2)
    check(r.exit_code, r.stdout, r.stderr, time.monotonic() - t0, case)


def test_suite_size() -> None:
    """The issue asks for at least 250 hostile inputs across every class."""
    assert len(CASES) >= 250
    assert len({c.id for c in CASES}) == len(CASES)
