"""A prepared judge for calibration and probes: its plan and the evals' cached, repairing caller."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..errors import PromptFileError
from ..evals.execute import Executor
from ..evals.judges import missing_required, select_inputs
from ..evals.plan import JudgePlan

__all__ = ["JudgeCall"]


@dataclass
class JudgeCall:
    """A prepared judge: its plan and a cached, repairing caller (the evals' :class:`Executor`)."""

    plan: JudgePlan
    executor: Executor
    calls: int = 0
    replays: int = 0
    cost_usd: float = 0.0
    errors: list[str] = field(default_factory=list)

    async def score(self, inputs: dict[str, Any], *, where: tuple[str, int | None], k: int) -> float | None:
        """Judge sample ``k`` of ``inputs``: the score 1-5, or None on a judge error."""
        prompt = self.plan.prompt
        declared = prompt.spec.inputs
        missing = missing_required(declared, inputs)
        if missing:
            raise PromptFileError(f"the judge needs {', '.join(missing)}", file=where[0], line=where[1])
        rendered = prompt.render(select_inputs(declared, inputs))
        t = self.plan.target
        params, rf = t.prepare(rendered.params, rendered.response_format, prompt.spec.output.schema_, judge=True)
        answer = str(inputs.get("answer", ""))
        js = await self.executor.judge_sample(self.plan, rendered.messages, params, rf, answer, 0, k)
        self.calls += js.calls
        self.replays += js.replays
        self.cost_usd += js.cost_usd
        if js.score is None:
            self.errors.append(js.error or "judge error")
            return None
        return 1.0 + 4.0 * js.score

    async def mean_score(self, inputs: dict[str, Any], *, where: tuple[str, int | None]) -> float | None:
        """The mean of the judge's ``samples`` scores (None when every sample errored)."""
        got = await asyncio.gather(*(self.score(inputs, where=where, k=k) for k in range(self.plan.samples)))
        valid = [s for s in got if s is not None]
        return sum(valid) / len(valid) if valid else None
