"""Benchmark of the HTML report with 10,000 cases in headless Chromium, pinned to 2 CPU cores.

    PYTHONPATH=. .venv/bin/python bench/html_bench.py [--cases 10000] [--runs 7]

Needs Debian's chromium (/usr/bin/chromium) and Playwright (the dev extra); no browser download. The
report is the results view of a synthetic results file (tests/support/htmlreport.py: two prompts, two
assertions per case, one with K = 2 judge samples and their reasoning). Each run opens the file in a fresh
page and measures, as wall time seen by the driver:

* load: navigation start until the page has parsed the embedded JSON and rendered the summary, the filter
  bar and the first page of rows;
* filter: tick "failed only", until the row count is updated; then a text search, until updated;
* total: load + both filters.

Prints one JSON line with the medians (and every run) and the HTML size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llmops_cli.evals.results import results_from_dict  # noqa: E402
from llmops_cli.report.html import results_html  # noqa: E402
from tests.support.htmlreport import ARGS, CHROMIUM, synthetic_context, synthetic_results  # noqa: E402


def _wait_count(page, prefix_not: str) -> str:  # type: ignore[no-untyped-def]
    """Poll the case count until it no longer reads ``prefix_not`` (the page's CSP forbids string eval)."""
    loc = page.locator("#case-count")
    while True:
        text = loc.text_content() or ""
        if not text.startswith(prefix_not):
            return text
        time.sleep(0.005)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cores", type=int, default=2, help="CPU cores the browser may use (0: no pinning)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    if args.cores and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, cpus)  # inherited by the browser's processes
    results = synthetic_results(args.cases)
    html = results_html(results_from_dict(results), context=synthetic_context(results))
    folder = Path(tempfile.mkdtemp(prefix="llmops-html-bench-"))
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    loads, filters, searches, totals = [], [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(args.runs):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            t0 = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-ready='1']", state="attached")
            t1 = time.perf_counter()
            all_rows = page.locator("#case-count").text_content() or ""
            page.check("#f-failed")
            failed = _wait_count(page, all_rows)
            t2 = time.perf_counter()
            page.fill("[data-filter=search]", "refund")
            _wait_count(page, failed)
            t3 = time.perf_counter()
            if errors or page.locator("tr.case").count() == 0:
                raise SystemExit(f"page failed: {errors}")
            page.close()
            loads.append(t1 - t0)
            filters.append(t2 - t1)
            searches.append(t3 - t2)
            totals.append(t3 - t0)
        browser.close()
    med = statistics.median
    print(
        json.dumps(
            {
                "bench": "html_report",
                "cases": args.cases,
                "runs": args.runs,
                "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                "html_mb": round(len(html.encode()) / 1e6, 2),
                "load_s_median": round(med(loads), 3),
                "filter_failed_s_median": round(med(filters), 3),
                "search_s_median": round(med(searches), 3),
                "total_s_median": round(med(totals), 3),
                "total_s_runs": [round(t, 3) for t in totals],
            }
        )
    )


if __name__ == "__main__":
    main()
