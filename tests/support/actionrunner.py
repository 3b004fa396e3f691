"""A local runner for a composite GitHub Action: reads ``action.yml`` and runs its ``run:`` steps as the Actions
runner does, for tests.

What it reproduces (GitHub's documented behaviour for composite actions):

* inputs: the ``with:`` values, else each input's ``default`` (expressions in defaults evaluated);
* expressions ``${{ inputs.X }}``, ``${{ github.X }}`` (``token``, ``action_path``, ``base_ref``, ``workspace``…),
  ``${{ steps.ID.outputs.X }}`` and ``${{ env.X }}`` in ``env``, ``working-directory``, ``with`` and outputs;
* ``if:`` conditions of the forms ``A == 'x'``, ``A != 'x'``, ``always()``, ``success()`` (anything else is
  refused, so an action using more than this is noticed rather than run wrongly);
* ``shell: bash`` as ``bash --noprofile --norc -eo pipefail FILE``, with ``GITHUB_ACTION_PATH``,
  ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, ``GITHUB_PATH``, ``GITHUB_ENV``, ``RUNNER_TEMP`` and the event
  variables set; lines appended to ``GITHUB_PATH`` / ``GITHUB_ENV`` reach the later steps, ``GITHUB_OUTPUT``
  (``k=v`` and ``k<<EOF`` forms) becomes the step's outputs;
* ``uses:`` steps are not run (there is no marketplace here): they are recorded in :attr:`ActionRun.skipped`.

Inputs are not exported as ``INPUT_*`` variables to composite steps (GitHub does that only for JavaScript and
Docker actions), so a step that needs one must map it through its ``env:``, as ``action.yml`` does.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_COND = re.compile(r"^(?P<left>[A-Za-z0-9_.-]+)\s*(?P<op>==|!=)\s*'(?P<right>[^']*)'$")


@dataclass
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class ActionRun:
    steps: list[StepResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # `uses:` steps and steps whose `if:` was false
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    failed: StepResult | None = None

    @property
    def output(self) -> str:
        return "\n".join(f"--- {s.name} (rc {s.returncode})\n{s.stdout}{s.stderr}" for s in self.steps)


class ActionRunner:
    """Runs a composite action found at ``action_path`` against the checkout ``workspace``."""

    def __init__(self, action_path: Path, workspace: Path, *, env: dict[str, str], github: dict[str, str]) -> None:
        self.action_path = action_path
        self.workspace = workspace
        self.base_env = dict(env)
        self.github = {"action_path": str(action_path), "workspace": str(workspace), **github}
        self.spec: dict[str, Any] = yaml.safe_load((action_path / "action.yml").read_text(encoding="utf-8"))
        if self.spec.get("runs", {}).get("using") != "composite":
            raise ValueError("not a composite action")

    def run(self, with_: dict[str, str] | None = None) -> ActionRun:
        temp = Path(tempfile.mkdtemp(prefix="runner-"))
        files = {k: temp / k.lower() for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV")}
        for f in files.values():
            f.touch()
        env = {
            **self.base_env,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": str(self.action_path),
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(temp),
            "GITHUB_OUTPUT": str(files["GITHUB_OUTPUT"]),
            "GITHUB_STEP_SUMMARY": str(files["GITHUB_STEP_SUMMARY"]),
            "GITHUB_PATH": str(files["GITHUB_PATH"]),
            "GITHUB_ENV": str(files["GITHUB_ENV"]),
            **{f"GITHUB_{k.upper()}": v for k, v in self.github.items() if k not in ("token", "action_path")},
        }
        ctx: dict[str, Any] = {"github": self.github, "env": env, "steps": {}, "inputs": {}}
        given = dict(with_ or {})
        for name, spec in (self.spec.get("inputs") or {}).items():
            default = str((spec or {}).get("default", ""))
            ctx["inputs"][name] = given.pop(name) if name in given else self._subst(default, ctx)
        if given:
            raise ValueError(f"unknown inputs: {sorted(given)}")
        result = ActionRun()
        extra_path: list[str] = []
        for i, step in enumerate(self.spec["runs"]["steps"]):
            name = str(step.get("name") or step.get("id") or f"step {i}")
            if not self._condition(str(step.get("if", "success()")), ctx, failed=result.failed is not None):
                result.skipped.append(name)
                continue
            if "uses" in step:
                result.skipped.append(f"{name} (uses: {step['uses']})")
                continue
            if step.get("shell") != "bash":
                raise ValueError(f"{name}: only `shell: bash` steps are simulated")
            files["GITHUB_OUTPUT"].write_text("")
            step_env = {**env, **{k: self._subst(str(v), ctx) for k, v in (step.get("env") or {}).items()}}
            step_env["PATH"] = os.pathsep.join([*reversed(extra_path), env.get("PATH", os.defpath)])
            script = temp / f"step{i}.sh"
            script.write_text(self._subst(str(step["run"]), ctx), encoding="utf-8")
            cwd = self.workspace / self._subst(str(step.get("working-directory", ".")), ctx)
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=cwd,
                env=step_env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            outputs = _parse_kv(files["GITHUB_OUTPUT"].read_text(encoding="utf-8"))
            res = StepResult(name, proc.returncode, proc.stdout, proc.stderr, outputs)
            result.steps.append(res)
            if step.get("id"):
                ctx["steps"][step["id"]] = {
                    "outputs": outputs,
                    "outcome": "success" if proc.returncode == 0 else "failure",
                }
            extra_path += [p for p in files["GITHUB_PATH"].read_text().splitlines() if p]
            files["GITHUB_PATH"].write_text("")
            env.update(_parse_kv(files["GITHUB_ENV"].read_text(encoding="utf-8")))
            files["GITHUB_ENV"].write_text("")
            if proc.returncode != 0 and result.failed is None:
                result.failed = res
        for name, spec in (self.spec.get("outputs") or {}).items():
            result.outputs[name] = self._subst(str(spec.get("value", "")), ctx)
        result.summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        return result

    # -- expressions ------------------------------------------------------------------------------------------

    def _lookup(self, path: str, ctx: dict[str, Any]) -> str:
        node: Any = ctx
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return ""  # GitHub evaluates a missing property to an empty string
            node = node[part]
        return "" if node is None else str(node)

    def _subst(self, text: str, ctx: dict[str, Any]) -> str:
        def one(m: re.Match[str]) -> str:
            expr = m.group(1)
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", expr):
                raise ValueError(f"expression not simulated: {expr!r}")
            return self._lookup(expr, ctx)

        return _EXPR.sub(one, text)

    def _condition(self, cond: str, ctx: dict[str, Any], *, failed: bool) -> bool:
        cond = _EXPR.sub(lambda m: m.group(1), cond).strip()
        if cond == "always()":
            return True
        if cond == "success()":
            return not failed
        if cond == "failure()":
            return failed
        m = _COND.match(cond)
        if not m:
            raise ValueError(f"condition not simulated: {cond!r}")
        if failed:
            return False
        equal = self._lookup(m["left"], ctx) == m["right"]
        return equal if m["op"] == "==" else not equal


def _parse_kv(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT`` / ``GITHUB_ENV`` file contents: ``k=v`` lines and ``k<<DELIM`` … ``DELIM`` blocks."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            value = []
            for nxt in lines:
                if nxt == delim:
                    break
                value.append(nxt)
            out[key] = "\n".join(value)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out
