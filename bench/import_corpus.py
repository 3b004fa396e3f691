"""Import every fixture project of ``tests/fixtures/importers``, lint it and evaluate it against the loopback
server; print the figures quoted in docs/importers.md.

    python bench/import_corpus.py            # all fixtures
    python bench/import_corpus.py --no-eval  # import + lint only
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.support.fakellm import FakeLLM  # noqa: E402
from tests.support.importcorpus import KEY_ENV, expectation, fixtures, reply, run_fixture  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-eval", action="store_true", help="import and lint only")
    args = parser.parse_args()
    os.environ[KEY_ENV] = "sk-bench-0123456789"
    os.environ.pop("LLMOPS_CACHE_DIR", None)
    work = Path(tempfile.mkdtemp(prefix="llmops-import-bench-"))
    rows = []
    start = time.perf_counter()
    with FakeLLM(responder=reply) as server:
        for fx in fixtures():
            rows.append((fx, run_fixture(fx, work, None if args.no_eval else server.url, evaluate=not args.no_eval)))
    total = time.perf_counter() - start
    by_format: dict[str, list[int]] = {}
    for fx, o in rows:
        fmt = expectation(fx)["format"]
        ok = by_format.setdefault(fmt, [0, 0])
        ok[0] += o.imported
        ok[1] += 1
        status = "ok" if o.imported else "error"
        lint = "lint clean" if not o.lint_errors else f"{len(o.lint_errors)} lint errors"
        ev = "" if o.eval_ok is None else ("eval ok" if o.eval_ok else "EVAL FAILED") + f" ({o.eval_detail})"
        stub = f"{len(o.stubs)} stub" if o.stubs else ""
        print(
            f"{fx.name:32} {status:5} {o.cases:4} cases {len(o.unmapped):3} unmapped {stub:7} {lint:14} {ev}  {o.seconds:.2f}s"
        )
        if o.error:
            print(f"{'':32} {o.error}")
    imported = [o for _, o in rows if o.imported]
    print()
    for fmt, (ok, n) in sorted(by_format.items()):
        print(f"{fmt:10} {ok}/{n} imported without error")
    print(f"total      {len(imported)}/{len(rows)} imported ({100 * len(imported) / len(rows):.0f}%)")
    print(f"lint clean {sum(not o.lint_errors for o in imported)}/{len(imported)}")
    print(
        f"reported   {sum(len(o.unmapped) for o in imported)} unmapped constructs in {sum(bool(o.unmapped) for o in imported)} projects"
    )
    stubbed = [o for o in imported if o.stubs]
    print(f"stubs      {sum(len(o.stubs) for o in stubbed)} prompts kept as import stubs in {len(stubbed)} projects")
    print(f"cases      {sum(o.cases for o in imported)} golden cases imported")
    if not args.no_eval and stubbed:
        print(f"stub eval  refused (exit 2) in {sum(bool(o.stub_refused) for o in stubbed)}/{len(stubbed)} projects")
    if not args.no_eval:
        print(
            f"eval ok    {sum(bool(o.eval_ok) for o in imported)}/{len(imported)} ({sum(o.samples for o in imported)} samples)"
        )
    print(f"wall       {total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
