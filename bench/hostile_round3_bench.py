"""Issue #28 (findings 5, 8, 9): hostile names, template bombs and write paths against a checkout of llmops.

Runs each scenario as a user would (``python -m llmops_cli`` in a subprocess, a loopback fake model server
counting calls) with the code of ``--root`` (default: this checkout), and prints exit code, model calls and
wall time. Point ``--root`` at an older checkout (``git archive <rev> | tar -x -C DIR``) to see what it did:
exit 3 after paying for the calls, a hang in the importer, ``[Undefined]``, a ``.env`` copied into a prompt.

Then, in process with this checkout: the importer's compile check on every template bomb of
``tests/test_hostile_round3_templates.py`` (slowest, ms) and the render cost of a filter-heavy template
(µs per render, median), which the no-folding filter wrapper adds to.

Usage: ``python bench/hostile_round3_bench.py [--root DIR] [--timeout 20]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

GOLDEN = "cases:\n  - id: a\n    vars: {question: hi}\n    assert: [{type: icontains, value: fake%s}]\n"


def run(root: Path, args: list[str], cwd: Path, timeout: float) -> tuple[str, float, str]:
    from tests.support.evalproj import KEY_ENV, KEY_VALUE

    env = {**os.environ, "PYTHONPATH": str(root), KEY_ENV: KEY_VALUE, "NO_COLOR": "1"}
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "llmops_cli", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - t0, ""
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return str(proc.returncode), time.monotonic() - t0, lines[-1] if lines else ""


def scenarios(root: Path, timeout: float) -> list[tuple[str, str, str, float, str]]:
    from tests.support.evalproj import make_eval_project, write
    from tests.support.fakellm import FakeLLM

    rows = []
    with FakeLLM() as srv:

        def eval_run(label: str, golden: str, *extra: str, prep: str | None = None) -> None:
            proj = make_eval_project(Path(tempfile.mkdtemp()) / "p", srv.url, golden=golden)
            if prep:
                (proj / prep).write_text("x")
            before = srv.count
            code, took, last = run(root, ["eval", "run", "-q", "--no-cache", *extra], proj, timeout)
            rows.append((label, code, str(srv.count - before), took, last[:70]))

        eval_run("metric with ESC", GOLDEN % ', metric: "m\\ex"')
        eval_run("metric with U+2028", GOLDEN % ', metric: "m\\Lx"')
        eval_run("metric with U+0085", GOLDEN % ', metric: "m\\Nx"')
        eval_run("metric of 201 chars", GOLDEN % (", metric: " + "m" * 201))
        eval_run("cluster with ESC", GOLDEN.replace("    vars:", '    cluster: "c\\ex"\n    vars:') % "")
        eval_run("--out under a file", GOLDEN % "", "--out", "afile/r.json", prep="afile")
        eval_run("--junit under a file", GOLDEN % "", "--junit", "afile/j.xml", prep="afile")
        eval_run("--junit /proc/j.xml", GOLDEN % "", "--junit", "/proc/j.xml")

    for tpl in ("{{ 9**(9**9) }}", "{{ 'a' * 10**10 }}"):
        src = Path(tempfile.mkdtemp())
        quoted = tpl.replace("'", "''")
        (src / "promptfooconfig.yaml").write_text(f"prompts: ['{quoted}']\nproviders: [openai:gpt-4o-2024-08-06]\n")
        code, took, last = run(root, ["import", "promptfoo", "promptfooconfig.yaml", "--out", "out"], src, timeout)
        rows.append((f"import {tpl}", code, "-", took, last[:70]))

    proj = Path(tempfile.mkdtemp())
    write(proj, "llmops.yaml", "models: {}\n")
    write(
        proj,
        "prompts/p.prompt.yaml",
        "model: openai/gpt-4o-2024-08-06\ninputs:\n  x: {type: array, default: [1, 2]}\nmessages:\n"
        "  - role: user\n    content: \"{{ x|map(attribute='__class__')|list }}\"\n",
    )
    code, took, _ = run(root, ["prompt", "render", "p"], proj, timeout)
    rows.append(("render map(attribute='__class__')", code, "-", took, ""))
    write(proj, "prompts/q.prompt.yaml", f"model: openai/x\nparams: {{max_tokens: {'9' * 5000}}}\nmessages: []\n")
    code, took, last = run(root, ["prompt", "render", "q"], proj, timeout)
    rows.append(("render, max_tokens of 5,000 digits", code, "-", took, last[:70]))

    src = Path(tempfile.mkdtemp())
    (src / ".env").write_text("KEY=sk-CANARY\n")
    (src / "promptfooconfig.yaml").write_text('prompts: ["file://.env"]\nproviders: [openai:gpt-4o-2024-08-06]\n')
    code, took, _ = run(root, ["import", "promptfoo", "promptfooconfig.yaml", "--out", "out"], src, timeout)
    leaked = any("CANARY" in p.read_text() for p in (src / "out").rglob("*") if p.is_file())
    rows.append(("import file://.env", code, "-", took, f"key copied: {leaked}"))
    return rows


def in_process() -> None:
    from llmops_cli.importers.common import check_compiles
    from llmops_cli.sources import FsSource
    from llmops_cli.templating import TemplateEngine, TemplateOrigin
    from tests.test_hostile_round3_templates import CONSTANT_BOMBS

    slowest = 0.0
    for tpl in CONSTANT_BOMBS:
        t0 = time.perf_counter()
        check_compiles(tpl)
        slowest = max(slowest, time.perf_counter() - t0)
    print(f"\nimporter compile check, {len(CONSTANT_BOMBS)} template bombs: slowest {slowest * 1000:.1f} ms")

    engine = TemplateEngine(FsSource(tempfile.mkdtemp()), "partials")
    text = "{% for w in words %}{{ w|upper|replace('A', 'b')|center(12)|trim }}{% endfor %}{{ words|join(',')|length }}"
    variables = {"words": [f"word{i}" for i in range(1000)]}
    engine.render(text, TemplateOrigin("p"), variables)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        engine.render(text, TemplateOrigin("p"), variables)
        times.append(time.perf_counter() - t0)
    print(f"render of 1,000 loop items x 4 filters: median {statistics.median(times) * 1e6:,.0f} µs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=HERE, help="checkout whose llmops_cli runs the scenarios")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per command before it counts as a hang")
    ap.add_argument("--no-in-process", action="store_true", help="only the subprocess scenarios")
    args = ap.parse_args()
    print(f"code: {args.root}")
    print(f"{'scenario':36} {'exit':>7} {'calls':>5} {'s':>5}  last line")
    for label, code, calls, took, last in scenarios(args.root.resolve(), args.timeout):
        print(f"{label:36} {code:>7} {calls:>5} {took:5.1f}  {last}")
    if not args.no_in_process:
        in_process()


if __name__ == "__main__":
    main()
