"""The HTML report (llmops_cli/report): generation in Python, and the pages opened in headless Chromium.

Browser tests drive Debian's ``chromium`` through Playwright with the system browser (no browser download);
they skip, saying why, when either is missing (``.ci/run`` installs both). Every page load fails the test
on a console error, an uncaught exception or any request that is not ``file:`` or ``data:``.

Screenshots of both views are written to the test's temporary folder, and also to ``$LLMOPS_SCREENSHOT_DIR``
when set (``LLMOPS_SCREENSHOT_DIR=docs pytest tests/test_html_report.py`` refreshes the README's images).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.evals.results import results_from_dict, save_results
from llmops_cli.records.gate_report import GateReportRecord
from llmops_cli.records.results import EvalResults
from llmops_cli.report.html import MAX_TEXT, embed_json, gate_html, results_html, word_diff
from tests.conftest import GitRepo, run_cli
from tests.support import gateproj as gp
from tests.support.fakellm import all_text
from tests.support.htmlreport import ARGS, CHROMIUM, XSS, synthetic_context, synthetic_gate, synthetic_results

DATA_ISLAND = re.compile(r'<script type="application/json" id="llmops-data">(.*?)</script>', re.S)


# -- generation (no browser) ----------------------------------------------------------------------------------


def _island(page: str) -> str:
    (text,) = DATA_ISLAND.findall(page)
    return text


def test_embedded_json_cannot_close_its_element_and_round_trips() -> None:
    data = {"out": "".join(XSS) + "\u2028\u2029 & <!-- -->", "n": [1.5, None, float("nan")]}
    text = embed_json(data)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == {"out": data["out"], "n": [1.5, None, None]}  # NaN is not JSON: shown as null


def test_page_pins_its_inline_script_and_style_by_hash_and_allows_nothing_else() -> None:
    page = results_html(results_from_dict(synthetic_results(6, payloads=True)))
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    assert csp.startswith("default-src 'none';") and "unsafe-inline" not in csp and "http" not in csp
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(scripts) == 1 and len(re.findall(r"<script\b", page)) == 2  # the code and the JSON island

    def pin(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert f"script-src {pin(scripts[0])};" in csp and f"style-src {pin(style)};" in csp
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert sink not in scripts[0]
    for payload in XSS:
        assert payload not in page  # every payload is only in the escaped JSON island
    assert "pwned" in _island(page)


def test_word_diff_gives_back_both_texts() -> None:
    base, head = "Items can be returned within 30 days of delivery.", "Items can be sent back within a month."
    ops = word_diff(base, head)
    assert "".join(t for op, t in ops if op != "+") == base and "".join(t for op, t in ops if op != "-") == head
    assert ["-", "30 days of delivery."] in [[op, t.strip()] for op, t in ops] and any(op == "=" for op, _ in ops)
    assert word_diff("a b c", "a b c") == [["=", "a b c"]]
    long_a, long_b = "x " * 3000, "y " * 3000
    ops = word_diff(long_a, long_b, limit=50)
    assert "".join(t for op, t in ops if op != "+") == long_a


def test_huge_outputs_are_clipped_and_missing_fields_tolerated() -> None:
    results = synthetic_results(4)
    results["samples"][0]["output"] = "A" * (MAX_TEXT * 5)
    page = results_html(results_from_dict(results))
    assert len(page) < 200_000 and "more characters" in page
    # a gate report with only its verdict, and a results dict with nothing, still render
    assert "llmops eval gate: PASS" in gate_html(_typed({"verdict": "PASS", "line": "", "prompts": []}))
    assert "llmops-data" in results_html(EvalResults())
    report = _typed(synthetic_gate(8)[2])
    for p in report.prompts:  # a prompt without worst cases, errors or sides
        p.worst_cases, p.errors, p.base, p.head, p.regressed_clusters = [], [], None, None, []
        for m in p.metrics:
            m.clusters, m.lb, m.ub = [], None, None
            m.delta, m.mde = 10**400, float("inf")  # not numbers a page can show: "—"
    assert "llmops-data" in gate_html(report)


def _typed(report: dict[str, Any]) -> GateReportRecord:
    """A gate report dict (``to_dict()``) as the typed record the HTML view renders; missing sides and
    settings filled in."""
    base = {"base": {}, "head": {}, "settings": _SETTINGS}
    return GateReportRecord.model_validate({**base, **report})


_SETTINGS = {"practical": 0.02, "alpha": 0.05, "warn_alpha": 0.15, "max_judge_error_rate": 0.05,
             "max_provider_error_rate": 0.05, "holm_family": 1}  # fmt: skip


# -- the browser ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if os.environ.get("LLMOPS_REQUIRE_BROWSER"):  # .ci/run: chromium is installed, these tests must run
        import playwright.sync_api as sync_api

        assert os.path.exists(CHROMIUM), f"LLMOPS_REQUIRE_BROWSER is set but {CHROMIUM} is missing"
    else:
        sync_api = pytest.importorskip(
            "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]'; .ci/run installs it)"
        )
        if not os.path.exists(CHROMIUM):
            pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium; .ci/run does)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A report opened in a fresh browser page, recording console errors and every request."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=True)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

        def route(r: Any) -> None:
            url = r.request.url
            self.requests.append(url)
            if url.startswith(("file:", "data:")):
                r.continue_()
            else:
                r.abort()

        self.context.route("**/*", route)
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready='1']", state="attached", timeout=10_000)

    def remote(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def wait_count(self, prefix: str) -> None:
        """Wait for the case count to read ``prefix…`` (the search filter is debounced). The page's CSP
        forbids string evaluation, so Playwright's ``wait_for_function`` cannot run there."""
        from playwright.sync_api import expect

        expect(self.page.locator("#case-count")).to_have_text(re.compile("^" + re.escape(prefix)), timeout=10_000)

    def rows(self, view: str = "results") -> int:
        return self.page.locator(f"[data-view={view}] tr.case").count()

    def count_text(self) -> str:
        return self.page.locator("#case-count").text_content() or ""

    def check_clean(self) -> None:
        self.page.wait_for_timeout(150)  # onerror/onload handlers would run asynchronously
        assert self.page.evaluate("typeof window.pwned") == "undefined"
        assert self.errors == [] and self.remote() == [], (self.errors, self.remote())

    def shot(self, name: str, folder: Path, height: int = 1400) -> None:
        """A screenshot of the page's top ``height`` pixels."""
        target = folder / name
        self.page.screenshot(path=str(target), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": height})
        extra = os.environ.get("LLMOPS_SCREENSHOT_DIR")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, Path(extra) / name)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Iterator[Callable[[str, str], Page]]:
    pages: list[Page] = []

    def opener(html: str, name: str = "report.html") -> Page:
        path = tmp_path / name
        path.write_text(html, encoding="utf-8")
        p = Page(browser, path)
        pages.append(p)
        return p

    yield opener
    for p in pages:
        p.close()


def _select(p: Page, name: str, value: str) -> None:
    p.page.select_option(f"[data-view=results] [data-filter={name}]", value)


def test_results_view_filters_expands_and_stays_offline(open_report: Callable[..., Page], tmp_path: Path) -> None:
    results = synthetic_results(40)
    context = synthetic_context(results)
    p = open_report(results_html(results_from_dict(results), context=context))
    cases = {(r["prompt"], r["case_id"]): r["status"] for r in results["samples"]}
    assert results["summary"]["passed"] is False  # errored samples above max_error_rate
    assert p.page.locator(".verdict").text_content().startswith("FAILED 40 samples")
    assert p.count_text() == "40 of 40 cases" and p.rows() == 40
    s = results["summary"]["prompts"]["support/answer"]
    summary = p.page.locator("[data-view=results] tr[data-prompt='support/answer']").first.text_content()
    assert f"{s['pass_rate']:.1%} (80.0%)" in summary and "rubric" in summary and "$0.00" in summary
    not_passed = sum(s != "pass" for s in cases.values())
    p.page.check("#f-failed")
    assert p.rows() == not_passed == p.page.locator("tr.case[data-status=pass]").count() + not_passed
    assert p.page.locator("tr.case[data-status=pass]").count() == 0
    p.page.uncheck("#f-failed")
    _select(p, "cluster", "catalogue")
    assert p.rows() == 20 and p.page.locator("tr.case >> text=returns").count() == 0
    _select(p, "cluster", "")
    _select(p, "tag", "shipping")
    tagged = sum("shipping" in c["tags"] for per in context.values() for c in per.values())
    assert 0 < p.rows() == tagged < 40
    _select(p, "tag", "")
    p.page.check("#f-failed")
    _select(p, "assertion", "icontains")
    failed_icontains = sum(
        1 for r in results["samples"] for a in r["assertions"] if a["metric"] == "icontains" and not a["passed"]
    )
    assert 0 < p.rows() == failed_icontains < not_passed
    p.page.uncheck("#f-failed")
    _select(p, "assertion", "")
    p.page.fill("[data-filter=search]", "case-00017")
    p.wait_count("1 of")
    assert p.rows() == 1
    p.page.fill("[data-filter=search]", "")
    p.wait_count("40 of")
    # expand a case: messages, expected, output, each assertion and each judge sample's reasoning
    rec = next(r for r in results["samples"] if r["case_id"] == "case-00002")
    p.page.click("tr.case[data-case='case-00002']")
    detail = p.page.locator("tr.detail-row")
    assert detail.count() == 1
    text = detail.text_content()
    assert rec["output"] in text and "Within 30 days of delivery." in text and "Rendered messages" in text
    assert "return policy" in text and "judge sample 2" in text
    for reasoning in rec["assertions"][1]["reasonings"]:
        assert reasoning in text
    p.page.click("tr.case[data-case='case-00002']")
    assert p.page.locator("tr.detail-row").count() == 0
    # an errored case shows its error
    p.page.click("tr.case[data-status=error] >> nth=0")
    assert "timeout: the provider did not answer" in p.page.locator("tr.detail-row").text_content()
    p.page.click("tr.case[data-status=error] >> nth=0")
    p.page.check("#f-failed")
    p.page.click("tr.case[data-status=fail] >> nth=0")
    assert "judge sample 1" in p.page.locator("tr.detail-row").text_content()
    p.shot("report-results.png", tmp_path)
    p.check_clean()


def test_gate_view_verdict_forest_plot_clusters_worst_cases(open_report: Callable[..., Page], tmp_path: Path) -> None:
    _base, head, report = synthetic_gate(40)
    p = open_report(gate_html(_typed(report), head_results=results_from_dict(head)))
    verdict = p.page.locator("[data-view=gate] .verdict").text_content()
    assert verdict.startswith("FAIL") and report["line"] in verdict
    gated = [x for x in report["prompts"] if x["status"] == "gated"]
    decisive = [(x["prompt"], m["metric"]) for x in gated for m in x["metrics"] if m["decisive"]]
    marks = p.page.locator("svg.forest g.mark")
    assert marks.count() == len(decisive) >= 4
    shown = [
        (marks.nth(i).get_attribute("data-prompt"), marks.nth(i).get_attribute("data-metric"))
        for i in range(marks.count())
    ]
    assert sorted(shown) == sorted(decisive)
    assert p.page.locator("svg.forest g.mark circle").count() == len(decisive)
    assert p.page.locator("svg.forest g.mark[data-state=FAIL]").count() == len(decisive)
    card = p.page.locator("section.prompt[data-prompt='support/answer']")
    text = card.text_content()
    assert "Δ per cluster" in text and "returns" in text and "catalogue" in text
    assert "added in head: case-added" in text and "removed in head: case-removed" in text
    worst = card.locator(".worst")
    assert worst.count() == len(gated[0]["worst_cases"]) > 0
    assert worst.first.locator("del").count() > 0 and worst.first.locator("ins").count() > 0
    assert "30 days" in worst.first.locator("del").all_text_contents()[-1]
    costs = p.page.locator("[data-view=gate] tr[data-prompt='support/answer']").text_content()
    arms = gated[0]["base"], gated[0]["head"]
    assert f"${arms[0]['eval_cost']:.4f} → ${arms[1]['eval_cost']:.4f}" in costs
    p.shot("report-gate.png", tmp_path)
    # the head's results are a second tab
    assert p.page.locator("[data-view=results]").is_hidden()
    p.page.click("button[data-tab=results]")
    assert p.page.locator("[data-view=gate]").is_hidden() and p.rows() > 0
    p.check_clean()


def test_xss_payloads_in_outputs_and_judge_reasoning_are_inert(open_report: Callable[..., Page]) -> None:
    results = synthetic_results(20, payloads=True)
    p = open_report(results_html(results_from_dict(results), context=synthetic_context(results, payloads=True)))
    for i in range(p.rows()):  # expand every case: every output, reason, judge reasoning and message shown
        p.page.locator("tr.case").nth(i).click()
    text = p.page.locator("[data-view=results]").text_content()
    for payload in XSS:
        assert payload.replace("\u2028", "") in text.replace("\u2028", "")  # shown as text, verbatim
    assert p.page.locator("img, iframe, textarea, a[href], [onerror], [onload]").count() == 0
    assert p.page.locator("script").count() == 2
    p.check_clean()
    _base, head, report = synthetic_gate(20, payloads=True)
    g = open_report(gate_html(_typed(report), head_results=results_from_dict(head)), "gate.html")
    assert g.page.locator("img, iframe, textarea, a[href]").count() == 0
    assert any(x in (g.page.locator(".worst").first.text_content() or "") for x in XSS)
    g.check_clean()


def test_ten_thousand_cases_open_and_filter(open_report: Callable[..., Page]) -> None:
    """The 2 s figure is bench/html_bench.py's; here a generous bound catches a freeze."""
    started = time.perf_counter()
    p = open_report(results_html(results_from_dict(synthetic_results(10_000))))
    assert p.count_text() == "10000 of 10000 cases" and p.rows() == 100  # one page
    p.page.check("#f-failed")
    failed = p.count_text()
    p.page.uncheck("#f-failed")
    p.page.fill("[data-filter=search]", "case-09999")
    p.wait_count("1 of")
    assert time.perf_counter() - started < 30
    assert int(failed.split()[0]) < 10_000
    p.page.fill("[data-filter=search]", "")
    p.wait_count("10000 of")
    p.page.click(".pager .next")
    assert "page 2 of" in p.page.locator(".pageinfo").text_content()
    p.check_clean()


# -- the CLI end to end ------------------------------------------------------------------------------------------


SCAFFOLD_CONFIG = f"""
models:
  chat: {{model: openai/fake-model, api_base: '@URL@', api_key_env: {gp.KEY_ENV}}}
judge: {{prompt: judges/rubric, model: chat, samples: 1}}
concurrency: 4
eval: {{timeout_s: 5, max_retries: 1, backoff_s: 0.05}}
"""


def _golden(n: int = 10) -> str:
    """The scaffold's FAQ golden set, with a `returns` and a `catalogue` cluster."""
    lines = ["cases:"]
    for i in range(n):
        returns = i < 6  # six regressed cases: p = 1/64, a FAIL
        lines += [
            f"  - id: {'return' if returns else 'unknown'}-{i}",
            f"    vars: {{question: 'Question {i}?', faq: ['{'Items can be returned within 30 days.' if returns else 'Shipping is free.'}']}}",
            f"    cluster: {'returns' if returns else 'catalogue'}",
            f"    tags: [{'policy' if returns else 'catalogue'}]",
            "    assert: [{type: icontains, value: '30 days'}]"
            if returns
            else "    assert: [{type: icontains, value: 'know'}]",
        ]
    return "\n".join(lines) + "\n"


def _scaffolded(repo: GitRepo, url: str) -> str:
    from llmops_cli.scaffolding import init_project

    init_project(repo.root)
    repo.write("llmops.yaml", SCAFFOLD_CONFIG.replace("@URL@", url))
    repo.write("evals/faq/answer.yaml", _golden())
    repo.write(".gitignore", ".llmops/\n")
    repo.commit("scaffold")
    return (repo.root / "prompts/faq/answer.prompt.yaml").read_text()


def test_gate_and_report_html_from_the_cli(
    tmp_git_repo: GitRepo, fake_llm_factory: Callable[..., Any], browser: Any, tmp_path: Path
) -> None:
    server = fake_llm_factory(responder=gp.faq_responder)
    repo = tmp_git_repo
    prompt = _scaffolded(repo, server.url)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(
        "prompts/faq/answer.prompt.yaml",
        prompt.replace("Answer only from", "Never mention time limits. Answer only from"),
    )
    repo.commit("shorter answers")
    env = {gp.KEY_ENV: gp.KEY_VALUE}
    r = run_cli("eval", "gate", "--base", "main", "--html", "out/gate.html", cwd=repo.root, env=env)
    assert r.exit_code == 1, r.output
    report = json.loads((repo.root / ".llmops/gate/gate.json").read_text())
    decisive = [m for x in report["prompts"] if x["status"] == "gated" for m in x["metrics"] if m["decisive"]]
    p = Page(browser, repo.root / "out/gate.html")
    try:
        assert p.page.locator("[data-view=gate] .verdict").text_content().startswith("FAIL")
        assert p.page.locator("svg.forest g.mark").count() == len(decisive) > 0
        assert "returns" in p.page.locator("section.prompt").first.text_content()
        p.page.click("button[data-tab=results]")
        assert p.rows() == 10
        _select(p, "tag", "policy")  # tags, like messages, come from the unchanged golden set
        assert p.rows() == 6
        p.page.click("tr.case >> nth=0")
        detail = p.page.locator("tr.detail-row").text_content()
        assert "Rendered messages" in detail and "Never mention time limits" in detail
        assert "You can return items for a full refund." in detail
        p.check_clean()
    finally:
        p.close()
    head = repo.root / ".llmops/gate/head.json"
    r = run_cli("eval", "report", str(head), "--html", str(tmp_path / "report.html"), cwd=repo.root)
    assert r.exit_code == 0, r.output
    page = (tmp_path / "report.html").read_text()
    data = json.loads(_island(page))
    assert data["kind"] == "results" and data["results"]["cases"][0]["messages"]
    # outside the project, the report shows what the results file holds (no messages), still exit 0
    r = run_cli("eval", "report", str(head), "--html", str(tmp_path / "bare.html"), cwd=tmp_path)
    assert r.exit_code == 0, r.output
    assert json.loads(_island((tmp_path / "bare.html").read_text()))["results"]["cases"][0]["messages"] is None


def test_compare_html_and_report_refuse_bad_input(tmp_path: Path) -> None:
    base, head, report = synthetic_gate(40)
    assert report["verdict"] == "FAIL"
    save_results(str(tmp_path / "base.json"), results_from_dict(base))
    save_results(str(tmp_path / "head.json"), results_from_dict(head))
    (tmp_path / "llmops.yaml").write_text("version: 1\n")
    r = run_cli("eval", "compare", "base.json", "head.json", "--html", "cmp.html", cwd=tmp_path)
    assert r.exit_code == 1, r.output
    data = json.loads(_island((tmp_path / "cmp.html").read_text()))
    assert data["kind"] == "gate" and data["gate"]["verdict"] == "FAIL" and data["results"]["cases"]
    (tmp_path / "bad.json").write_text('{"kind": "llmops-eval-results", "schema_version": 1, "samples": [1]}')
    r = run_cli("eval", "report", "bad.json", "--html", "x.html", cwd=tmp_path)
    assert r.exit_code == 2 and "bad.json" in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "x.html").exists()


def test_real_run_judge_reasoning_per_sample_is_recorded_and_inert(
    tmp_path: Path, fake_llm_factory: Callable[..., Any], browser: Any
) -> None:
    """Through the real pipeline: K = 2 judge samples, each reasoning recorded in results.json; hostile
    outputs, reasonings and golden-set values reach the page as text only."""
    from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project

    calls = iter(range(1_000))

    def responder(body: dict[str, Any]) -> str:
        if "GRADE" in all_text(body):
            n = next(calls)
            return json.dumps({"reasoning": f"{XSS[1]} grader note {n}", "score": 4})
        return f"Refunds take 5 days. {XSS[3]} {XSS[2]}"

    server = fake_llm_factory(responder=responder)
    golden = f"""
    cases:
      - id: refund
        vars: {{question: "How do refunds work? {XSS[0]}"}}
        expected: "{XSS[4].strip()}"
        tags: [billing]
        assert: [{{type: judge, criteria: Answers the question}}, {{type: contains, value: "5 days"}}]
    """
    root = make_eval_project(tmp_path / "proj", server.url, golden=golden, samples=2)
    env = {KEY_ENV: KEY_VALUE, "LLMOPS_CACHE_DIR": str(tmp_path / "cache")}
    r = run_cli("eval", "run", "-o", "results.json", cwd=root, env=env)
    assert r.exit_code == 0, r.output
    (rec,) = json.loads((root / "results.json").read_text())["samples"]
    judge = rec["assertions"][0]
    assert len(judge["reasonings"]) == 2 and judge["reasonings"][0] != judge["reasonings"][1]
    assert all("grader note" in x for x in judge["reasonings"])
    r = run_cli("eval", "report", "results.json", "--html", "report.html", cwd=root)
    assert r.exit_code == 0, r.output
    p = Page(browser, root / "report.html")
    try:
        _select(p, "tag", "billing")
        assert p.rows() == 1
        p.page.click("tr.case")
        detail = p.page.locator("tr.detail-row").text_content()
        for text in (*judge["reasonings"], XSS[0], XSS[2], XSS[3], rec["output"]):
            assert text in detail
        assert p.page.locator("img, iframe, textarea, a[href]").count() == 0
        p.check_clean()
    finally:
        p.close()
