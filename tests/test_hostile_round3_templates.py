"""Hostile templates, round three (issue #28, findings 5 and 9).

* An imported template is compiled exactly as a prompt template is: in the bounded sandbox, where no constant
  expression is evaluated at compile time (``{{ 9**(9**9) }}`` hung the importer's plain-sandbox compile check,
  ``{{ 'a' * 10**10 }}`` exhausted its memory). Every shape is imported (or refused, exit 2) within 5 s.
* ``prompt lint`` / ``prompt render`` of a prompt file holding them: exit 2 or a clean render, never a hang.
* An unsafe attribute reached through a filter (``map(attribute='__class__')``, ``attr``, ``sort``,
  ``groupby``, ``sum``…) stops the render with a sandbox error (exit 2) instead of printing ``[Undefined]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmops_cli.errors import SandboxViolation, TemplateError
from llmops_cli.sandbox import LimitedSandbox, RenderLimitError
from llmops_cli.sources import FsSource
from llmops_cli.templating import TemplateEngine, TemplateOrigin, check_template
from tests.conftest import write

REPO_ROOT = Path(__file__).resolve().parent.parent

# constant expressions Jinja would fold while compiling: each unbounded in time or memory
CONSTANT_BOMBS = [
    "{{ 9**(9**9) }}",
    "{{ 'a' * 10**10 }}",
    "{{ [1] * 10**10 }}",
    "{{ ('a', 'b') * 10**10 }}",
    "{{ (9**9)**(9**9) }}",
    "{{ 'a' * 999999999999 }}",
    "{{ 'ab' * 10**10 ~ 'c' }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ 'a'|center(10**10) }}",
    "{{ 'a'|center(9999999999) }}",
    "{{ 'a'|indent(99999999, true) }}",
    "{{ 'a'|wordwrap(1, wrapstring='x' * 10**9) }}",
    "{{ 'x'|replace('x', 'y' * 10**8) }}",
    "{{ 'a b c'|replace(' ', 'z' * 900000)|replace('z', 'zz' * 999) }}",
    "{{ 'a.com b.com c.com'|urlize(target='t' * 10**8) }}",
    "{{ range(10**10)|list }}",
    "{{ range(10**10)|length }}",
    "{{ [[1] * 10**4] * 10**4 }}",
    "{{ 'x'|batch(10**10)|list }}",
    "{% set x = 9**(9**9) %}{{ x }}",
    "{% if 9**(9**9) %}yes{% endif %}",
    "{{ (9**(9**9)) if true else 1 }}",
    "{% for i in range(10**10) %}{{ i }}{% endfor %}",
    "{{ '{:>9999999999}'.format(1) }}",
]


def _run(args: list[str], cwd: Path, timeout: float = 60) -> tuple[int, str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1"}
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - t0


def _bounded_subprocess(code: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child with 2 GiB of address space: a bomb that escaped would fail or time out."""
    prelude = "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", prelude + code], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )


@pytest.mark.parametrize("template", CONSTANT_BOMBS)
def test_import_compile_check_is_bounded(tmp_path: Path, template: str) -> None:
    """A promptfoo prompt holding the bomb: imported (the template is kept, refused only when rendered) or
    refused with exit 2, within 5 s: never a hang or a memory blow-up while compiling."""
    src = tmp_path / "src"
    quoted = template.replace("'", "''")
    write(src, "promptfooconfig.yaml", f"prompts: ['{quoted}']\nproviders: [openai:gpt-4o-2024-08-06]\n")
    code, out, took = _run(["import", "promptfoo", "promptfooconfig.yaml", "--out", str(tmp_path / "out")], src, 30)
    assert code in (0, 2), out
    assert "Traceback" not in out and "internal error" not in out
    assert took < 5 + _startup_allowance(), f"import took {took:.1f} s"


def _startup_allowance() -> float:
    return 4.0  # the interpreter and the CLI's imports on a loaded 2-core machine


@pytest.mark.parametrize("template", CONSTANT_BOMBS)
def test_check_template_never_evaluates_constants(template: str) -> None:
    """The importer's check, in a child limited to 2 GiB: compiles (or refuses) each bomb within 5 s."""
    proc = _bounded_subprocess(
        "import time; from llmops_cli.importers.common import check_compiles, template_variables\n"
        f"t = time.monotonic(); print(check_compiles({template!r})); template_variables([{template!r}])\n"
        "print('took', time.monotonic() - t)\n",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    took = float(proc.stdout.split("took")[-1])
    assert took < 5, took


@pytest.mark.parametrize("template", CONSTANT_BOMBS)
def test_render_refuses_the_bomb_with_a_limit(tmp_path: Path, template: str) -> None:
    engine = TemplateEngine(FsSource(tmp_path), "partials")
    t0 = time.monotonic()
    with pytest.raises(RenderLimitError):
        engine.render(template, TemplateOrigin("p.prompt.yaml"), {})
    assert time.monotonic() - t0 < 5


def test_sandbox_folds_no_filter_at_compile_time() -> None:
    """Every filter of the bounded sandbox takes the render context, so Jinja never runs it while compiling."""
    env = LimitedSandbox()
    source = env.compile("{{ 'abc'|upper }}{{ 'a b'|wordcount }}{{ 'x'|center(5) }}", raw=True)
    assert "ABC" not in source and "'  x  '" not in source  # evaluated when rendering, not folded in
    assert env.from_string("{{ 'abc'|upper }}{{ 'a b'|wordcount }}").render() == "ABC2"
    for name, func in LimitedSandbox().filters.items():
        if not name.startswith("_llmops"):
            assert getattr(getattr(func, "jinja_pass_arg", None), "name", None) == "context", name


def test_filters_still_work(tmp_path: Path) -> None:
    engine = TemplateEngine(FsSource(tmp_path), "partials")
    text = (
        "{{ 'abc'|upper }} {{ x|map('upper')|join(',') }} {{ x|sort|first }} {{ 'https://a.com'|urlize(target='_blank') }}"
        " {{ [1, 2]|sum }} {{ [[1], [2]]|sum(start=[]) }} {{ x|length }} {{ 'ab'|center(6) }}|{{ d|dictsort|first }}"
    )
    out = engine.render(text, TemplateOrigin("p"), {"x": ["b", "a"], "d": {"k": 1}})
    assert out.startswith("ABC B,A a <a href=")
    assert 'target="_blank"' in out and out.endswith(" 3 [1, 2] 2   ab  |('k', 1)")


# -- unsafe attributes through filters ------------------------------------------------------------------------
UNSAFE_THROUGH_FILTERS = [
    "{{ x|map(attribute='__class__')|list }}",
    "{{ x|map(attribute='__class__.__mro__')|list }}",
    "{{ x|attr('__class__') }}",
    "{{ x|attr('__init__') }}",
    "{{ x|sort(attribute='__class__') }}",
    "{{ x|groupby('__class__')|list }}",
    "{{ x|sum(attribute='__class__') }}",
    "{{ x|selectattr('__class__')|list }}",
    "{{ x|rejectattr('__class__')|list }}",
    "{{ x|unique(attribute='__class__')|list }}",
    "{{ x|max(attribute='__class__') }}",
    "{{ x|min(attribute='__doc__') }}",
    "{{ x|join(',', attribute='__class__') }}",
    "{{ '{0.__class__}'.format(x) }}",
    "{{ x['__class__'] }}",
    "{% for c in x|map(attribute='__class__') %}{{ c }}{% endfor %}",
    "{% if x|map(attribute='__class__')|list %}y{% endif %}",
    "{{ (x|map(attribute='__class__')|list)|length }}",
]


@pytest.mark.parametrize("template", UNSAFE_THROUGH_FILTERS)
def test_unsafe_attribute_through_a_filter_is_a_sandbox_error(tmp_path: Path, template: str) -> None:
    engine = TemplateEngine(FsSource(tmp_path), "partials")
    with pytest.raises(SandboxViolation) as exc:
        engine.render(template, TemplateOrigin("p.prompt.yaml"), {"x": [1, 2]})
    assert "unsafe" in exc.value.message


@pytest.mark.parametrize(
    "template",
    [
        "{{ x|map(attribute='missing')|list }}",
        "{{ x|map(attribute='missing')|join(',') }}",
        "{{ [x.missing] }}",
        "{{ {'a': x.missing} }}",
        "{{ x|map(attribute='missing')|list|tojson }}",
    ],
)
def test_undefined_inside_a_printed_list_is_an_error(tmp_path: Path, template: str) -> None:
    """``[Undefined, Undefined]`` was printed for a missing attribute read through ``map``."""
    engine = TemplateEngine(FsSource(tmp_path), "partials")
    with pytest.raises(TemplateError) as exc:
        engine.render(template, TemplateOrigin("p.prompt.yaml"), {"x": [1, 2]})
    assert "Undefined" not in exc.value.message or "undefined" in exc.value.message.lower()


def test_safe_attribute_through_a_filter_still_works(tmp_path: Path) -> None:
    engine = TemplateEngine(FsSource(tmp_path), "partials")
    people = [{"name": "b", "age": 2}, {"name": "a", "age": 1}]
    out = engine.render(
        "{{ p|map(attribute='name')|join(',') }} {{ (p|sort(attribute='age')|first).name }} {{ p|sum(attribute='age') }}",
        TemplateOrigin("p"),
        {"p": people},
    )
    assert out == "b,a a 3"


PROMPT = """\
model: openai/gpt-4o-2024-08-06
inputs:
  x: {{type: array, default: [1, 2]}}
messages:
  - role: user
    content: "{content}"
"""


@pytest.mark.parametrize(
    "template",
    [
        "{{ 9**(9**9) }}",
        "{{ 'a' * 10**10 }}",
        "{{ 'a'|center(10**10) }}",
        "{{ x|map(attribute='__class__')|list }}",
        "{{ x|attr('__class__') }}",
    ],
)
def test_render_and_lint_of_a_prompt_file_exit_2_quickly(tmp_path: Path, template: str) -> None:
    root = tmp_path / "proj"
    write(root, "llmops.yaml", "models: {}\n")
    write(root, "prompts/bomb.prompt.yaml", PROMPT.format(content=template.replace('"', '\\"')))
    code, out, took = _run(["prompt", "render", "bomb"], root)
    assert code == 2, out
    assert "Undefined" not in out and "Traceback" not in out
    assert took < 5 + _startup_allowance()
    code, out, took = _run(["prompt", "lint", "bomb"], root)
    assert code in (0, 1), out  # lint analyses without rendering: it may pass, it may not hang
    assert "Traceback" not in out and took < 5 + _startup_allowance()


def test_check_template_reports_syntax_and_nesting() -> None:
    assert check_template("{{ 1 + }}")[0] is not None
    assert "nested" in (check_template("{% if a %}" * 150 + "{% endif %}" * 150)[0] or "")
    assert check_template("{{ a }} {% for b in c %}{{ b }}{% endfor %}") == (None, {"a", "c"})


@pytest.mark.parametrize("template", ["{{ 9**(9**9) }}", "{{ 'a' * 10**10 }}", "{{ 'a'|center(10**10) }}"])
def test_prompty_import_of_a_bomb_is_bounded(tmp_path: Path, template: str) -> None:
    src = tmp_path / "src"
    write(src, "a.prompty", f"---\nname: x\nmodel:\n  api: chat\n---\nuser:\n{template}\n")
    code, out, took = _run(["import", "prompty", "a.prompty", "--out", str(tmp_path / "out")], src, 30)
    assert code in (0, 2) and "internal error" not in out, out
    assert took < 5 + _startup_allowance()
