"""What tools cost `prompt lint` and prompt loading: N prompts, each with a shared tool file of T tools and two
tools defined in place, against the same prompts without tools.

    PYTHONPATH=. python bench/tools_lint_bench.py [--prompts 200] [--tools 20] [--runs 3]

Prints the median wall time of loading every prompt and of linting the project (golden sets absent: the
lint's tool checks — meta-schema, RE2, strict rules, the static model table — are what is measured), per prompt,
with and without tools, and checks that linting imported no litellm.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARAMS = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^[A-Z][0-9]{1,8}$"},
        "reason": {"type": "string", "enum": ["customer", "fraud", "stock"]},
        "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}},
                                             "required": ["sku"], "additionalProperties": False}},
    },
    "required": ["order_id", "reason", "items"],
    "additionalProperties": False,
}  # fmt: skip


def _project(root: Path, prompts: int, tools: int, with_tools: bool) -> None:
    (root / "prompts" / "_tools").mkdir(parents=True)
    (root / "llmops.yaml").write_text("models: {}\n", encoding="utf-8")
    shared = {"tools": [{"name": f"tool_{i}", "description": f"Tool {i}.", "parameters": PARAMS, "strict": True}
                        for i in range(tools)]}  # fmt: skip
    (root / "prompts" / "_tools" / "shared.yaml").write_text(json.dumps(shared), encoding="utf-8")
    inline = [{"name": "escalate", "description": "To a person.", "parameters": PARAMS},
              {"name": "refund", "description": "Refund.", "parameters": PARAMS}]  # fmt: skip
    for n in range(prompts):
        doc: dict[str, object] = {
            "model": "openai/gpt-4o-2024-08-06",
            "inputs": {"question": {"type": "string"}},
            "messages": [{"role": "user", "content": "{{ question }}"}],
        }
        if with_tools:
            doc["tools"] = [{"use": "shared/*"}, *inline]
            doc["tool_choice"] = "auto"
        (root / "prompts" / f"p{n:04d}.prompt.yaml").write_text(json.dumps(doc), encoding="utf-8")


def _time(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--tools", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from llmops_cli.lint import lint_project
    from llmops_cli.project import Project

    rows = {}
    for with_tools in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            _project(root, args.prompts, args.tools, with_tools)

            def load_all(root: Path = root) -> None:
                project = Project.open(root)
                for name in project.prompt_names():
                    project.load(name)

            def lint_all(root: Path = root) -> None:
                findings = lint_project(Project.open(root))
                errors = [f for f in findings if f.severity == "error"]
                assert not errors, errors[:3]

            rows[with_tools] = (_time(load_all, args.runs), _time(lint_all, args.runs))
    assert "litellm" not in sys.modules, "lint imported litellm"
    n = args.prompts
    print(f"{n} prompts; with tools: {args.tools} shared (use: shared/*) + 2 inline each; median of {args.runs}")
    for with_tools, (load_s, lint_s) in rows.items():
        label = "with tools   " if with_tools else "without tools"
        print(f"  {label}  load {load_s:6.2f} s ({1000 * load_s / n:5.1f} ms/prompt)   "
              f"lint {lint_s:6.2f} s ({1000 * lint_s / n:5.1f} ms/prompt)")  # fmt: skip
    print("  litellm imported: no")


if __name__ == "__main__":
    main()
