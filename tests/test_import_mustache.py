"""Mustache and Handlebars → sandboxed Jinja (llmops_cli/importers/mustache.py): one test per construct, each
rendering the translation in llmops's own sandbox (trim_blocks/lstrip_blocks as prompts render) and comparing
with what the source engine prints; untranslatable constructs are refused with their line, never guessed."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from llmops_cli.importers.mustache import MAX_DEPTH, Untranslatable, translate
from llmops_cli.sandbox import LimitedSandbox

ENV = LimitedSandbox(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True
)


def render(template: str, *, hb: bool = False, known: set[str] | None = None, **data: Any) -> str:
    jinja, _ = translate(template, handlebars=hb, known=known)
    return ENV.from_string(jinja).render(**data)


# -- Mustache -------------------------------------------------------------------------------------------------


def test_variables_are_html_escaped_as_mustache_does_and_triple_braces_are_raw() -> None:
    assert render("{{x}}|{{{x}}}|{{& x}}", x='<a href="q">&\'</a>') == (
        '&lt;a href=&quot;q&quot;&gt;&amp;\'&lt;/a&gt;|<a href="q">&\'</a>|<a href="q">&\'</a>'
    )
    assert render("[{{x}}]", x=None) == "[]"  # null prints nothing
    assert render("{{ n }} {{b}}", n=3, b=True) == "3 True"  # Python Mustache (Prompty) prints str()


def test_dotted_names() -> None:
    assert render("{{user.name}} / {{user.address.city}}", user={"name": "Ada", "address": {"city": "Paris"}}) == (
        "Ada / Paris"
    )


def test_section_over_a_list_pushes_each_item_and_falls_back_outwards() -> None:
    tpl = "{{#items}}\n- {{name}} ({{topic}})\n{{/items}}\ndone\n"
    out = render(tpl, known={"items", "topic"}, items=[{"name": "a"}, {"name": "b", "topic": "own"}], topic="T")
    assert out == "- a (T)\n- b (own)\ndone\n"  # standalone section lines vanish, as in Mustache


def test_section_over_a_truthy_value_renders_once_and_a_falsy_one_not_at_all() -> None:
    tpl = "{{#c}}Hi {{name}}.{{/c}}{{#off}}never{{/off}}"
    assert render(tpl, known={"c", "off"}, c={"name": "Ada"}, off=False) == "Hi Ada."
    assert render("{{#flag}}yes{{/flag}}", flag=[]) == ""
    assert render("{{#items}}<{{.}}>{{/items}}", items=["x", "y"]) == "<x><y>"  # implicit iterator


def test_inverted_section() -> None:
    tpl = "{{^docs}}No documents.{{/docs}}"
    assert render(tpl, docs=[]) == "No documents."
    assert render(tpl, docs=["d"]) == ""
    assert render(tpl, docs=False) == "No documents."


def test_comments_and_standalone_lines() -> None:
    tpl = "A{{#c}} is {{n}}.{{/c}}\n{{! a standalone comment }}\n{{#d}}\n# {{t}}\n{{/d}}\nend {{! inline }}x\n"
    out = render(tpl, known={"c", "d"}, c={"n": "Ada"}, d=[{"t": "a"}, {"t": "b"}])
    assert out == "A is Ada.\n# a\n# b\nend x\n"


def test_literal_jinja_syntax_in_the_text_stays_text() -> None:
    assert render("{% raw %} {# x #} {{x}}", x="1") == "{% raw %} {# x #} 1"


def test_nested_sections_look_up_the_whole_context_stack() -> None:
    tpl = "{{#orders}}{{#lines}}{{sku}}@{{id}}/{{shop}};{{/lines}}{{/orders}}"
    data = {"orders": [{"id": 1, "lines": [{"sku": "A"}, {"sku": "B", "id": 9}]}], "shop": "S"}
    assert render(tpl, known={"orders", "shop"}, **data) == "A@1/S;B@9/S;"


# -- Handlebars -----------------------------------------------------------------------------------------------


def test_each_with_index_first_last_and_else() -> None:
    tpl = "{{#each items}}{{#if @first}}[{{/if}}{{@index}}:{{this}}{{#unless @last}}, {{/unless}}{{else}}empty{{/each}}"
    assert render(tpl, hb=True, items=["x", "y"]) == "[0:x, 1:y"
    assert render(tpl, hb=True, items=[]) == "empty"


def test_each_over_an_object_gives_key_and_value() -> None:
    assert render("{{#each obj}}{{@key}}={{this}};{{/each}}", hb=True, obj={"a": 1, "b": 2}) == "a=1;b=2;"


def test_each_item_fields_do_not_fall_back_to_the_parent_in_handlebars() -> None:
    tpl = "{{#each people}}{{name}}|{{title}}|{{../title}};{{/each}}"
    assert render(tpl, hb=True, people=[{"name": "Ada"}], title="T") == "Ada||T;"


def test_if_else_and_unless_with_javascript_truthiness() -> None:
    tpl = "{{#if user}}Hi {{user.name}}{{else}}anon{{/if}}"
    assert render(tpl, hb=True, user={"name": "Z"}) == "Hi Z"
    assert render(tpl, hb=True, user=None) == "anon"
    assert render("{{#if o}}truthy{{/if}}", hb=True, o={}) == "truthy"  # {} is truthy in JavaScript
    assert render("{{#unless done}}todo{{/unless}}", hb=True, done=0) == "todo"


def test_with_and_parent_reference() -> None:
    assert render("{{#with user}}{{name}}/{{../site}}{{/with}}", hb=True, user={"name": "Z"}, site="S") == "Z/S"


def test_handlebars_escapes_more_characters() -> None:
    assert render("{{x}}", hb=True, x="a'b`c=d") == "a&#x27;b&#x60;c&#x3D;d"


def test_whitespace_control() -> None:
    assert render("a  {{~#if x~}}  b  {{~/if~}}  c", hb=True, x=True) == "abc"


# -- refused, with the line --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "hb", "construct"),
    [
        ("line one\n{{> header}}", False, "partial"),
        ("{{=<% %>=}}", False, "set-delimiter"),
        ("{{#each a as |x|}}{{/each}}", True, "#each"),
        ("{{helper a b}}", True, "helper"),
        ("{{#custom a b}}x{{/custom}}", True, "helper"),
        ("{{#a}}x", False, "never closed"),
        ("{{/a}}", False, "closes no"),
        ("{{#a}}x{{/b}}", False, "closes"),
        ("{{@index}}", True, "@index"),
        ("{{.}}", False, "top-level"),
        ("{{__class__}}", False, "__class__"),
        ("{{a b}}", False, "not a variable"),
        ("x {{~y}}", False, "~"),
    ],
)
def test_untranslatable_constructs_are_refused(template: str, hb: bool, construct: str) -> None:
    with pytest.raises(Untranslatable) as err:
        translate(template, handlebars=hb)
    assert construct in f"{err.value.construct} {err.value.detail}"
    assert err.value.line >= 1


def test_partial_is_refused_on_its_line() -> None:
    with pytest.raises(Untranslatable) as err:
        translate("a\nb\n{{> footer}}\n")
    assert err.value.line == 3


def test_nesting_and_tag_count_are_bounded() -> None:
    deep = "".join(f"{{{{#s{i}}}}}" for i in range(MAX_DEPTH + 2))
    with pytest.raises(Untranslatable, match="levels"):
        translate(deep)
    with pytest.raises(Untranslatable, match="tags"):
        translate("{{x}}" * 6000)


def test_unclosed_tags_scan_in_linear_time() -> None:
    import time

    start = time.perf_counter()
    with pytest.raises(Untranslatable, match="tags"):
        translate("{{" * 400_000 + "x")
    jinja, _ = translate("{{x}} " + "{{" * 2_000 + " end")  # an unclosed `{{`: the rest is literal text
    assert time.perf_counter() - start < 5
    assert ENV.from_string(jinja).render(x="1") == "1 " + "{{" * 2_000 + " end"
