"""Planning an eval run: which prompts and cases, which judges and models, every assertion validated — all
before any provider call, so bad input fails (exit 2) without spending anything.

::

    plan = build_plan(project, EvalOptions(names=["support/answer"], repeat=3))
    plan.total(), plan.fingerprint()   # items to run; what a resumed run must still match
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import NotFoundError, PromptFileError, UsageError, UserError
from ..git import merge_base
from ..goldens import Case, GoldenSet
from ..hashing import sha256_of
from ..models import Target, resolve_target
from ..models.targets import check_api_base
from ..models.trust import NO_TRUST, TRUST_ALL, KeyTrust, in_pull_request, trust_of
from ..project import Project
from ..prompt import Prompt
from ..spec import import_stub
from .assertions import AssertionSpec, parse_assertions
from .judges import candidate_inputs, judge_config_sha256, judge_prompt_name, missing_required
from .model import GoldenSetInfo, JudgeInfo, PromptInfo
from .selection import changed_prompts, shard_of


@dataclass
class EvalOptions:
    """What ``llmops eval run`` was asked to do. None means: from llmops.yaml."""

    names: list[str] | None = None
    changed_since: str | None = None
    repeat: int | None = None
    judge_samples: int | None = None
    concurrency: int | None = None
    model: str | None = None
    judge_model: str | None = None
    api_base: str | None = None
    shard: tuple[int, int] | None = None
    use_cache: bool = True
    timeout_s: float | None = None
    max_retries: int | None = None
    out: str | None = None
    base: str | None = None  # the ref whose llmops.yaml says which api_base/key pairings are trusted
    shard_as: dict[str, str] | None = None  # prompt → the name its cases are sharded by (the gate's moves)
    attack: dict[str, Any] | None = None  # llmops eval attack: AttackOptions.to_dict() (derived cases)
    max_cost_usd: float | None = None  # the spending cap of this command (None: llmops.yaml's budget, if any)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shard"] = list(self.shard) if self.shard else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalOptions:
        d = dict(d)
        d["shard"] = tuple(d["shard"]) if d.get("shard") else None
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class JudgePlan:
    name: str
    prompt: Prompt
    target: Target
    samples: int
    config_sha256: str = ""  # judges.judge_config_sha256: prompt, model name, alias definition
    new: bool = False  # not in the judge project: the change's own version (eval gate), informational

    def describe(self) -> dict[str, Any]:
        return {"prompt_sha256": self.prompt.sha256, "model": self.target.model, "samples": self.samples,
                "config_sha256": self.config_sha256}  # fmt: skip

    def info(self) -> JudgeInfo:
        """The judge as the results file records it (``run.judges[name]``)."""
        return JudgeInfo(prompt=self.name, prompt_sha256=self.prompt.sha256, model=self.target.model,
                         samples=self.samples, config_sha256=self.config_sha256 or None,
                         new=True if self.new else None)  # fmt: skip


@dataclass
class CasePlan:
    case: Case
    variables: dict[str, Any]
    asserts: list[AssertionSpec]
    judge_of: dict[int, str] = field(default_factory=dict)  # assertion index -> judge prompt name


@dataclass
class PromptPlan:
    name: str
    prompt: Prompt
    golden: GoldenSet
    golden_sha256: str
    target: Target
    cases: list[CasePlan]
    judges: dict[str, JudgePlan]
    min_pass_rate: float
    max_error_rate: float
    judged_by: dict[str, list[str]] = field(default_factory=dict)  # judged metric -> judge prompt names

    def describe(self) -> dict[str, Any]:
        return {
            "prompt_sha256": self.prompt.sha256,
            "file": self.prompt.file,
            "model": self.target.model,
            "model_name": self.prompt.model_name,
            "offline_from": self.target.offline_from,
            "golden_set": {"file": self.golden.file, "sha256": self.golden_sha256, "cases": len(self.golden.cases)},
            "min_pass_rate": self.min_pass_rate,
            "max_error_rate": self.max_error_rate,
            "clusters": {c.id: c.cluster for c in self.golden.cases},
            "judges": sorted(self.judges),
        }

    def info(self) -> PromptInfo:
        """The prompt as the results file records it (``prompts[name]``)."""
        return PromptInfo(
            prompt_sha256=self.prompt.sha256,
            file=self.prompt.file,
            model=self.target.model,
            model_name=self.prompt.model_name,
            offline_from=self.target.offline_from,
            golden_set=GoldenSetInfo(self.golden.file, self.golden_sha256, len(self.golden.cases)),
            min_pass_rate=self.min_pass_rate,
            max_error_rate=self.max_error_rate,
            clusters={c.id: c.cluster for c in self.golden.cases},
            judges=sorted(self.judges),
            judged_by={m: list(js) for m, js in sorted(self.judged_by.items())} or None,
        )


@dataclass
class Plan:
    prompts: list[PromptPlan]
    judges: dict[str, JudgePlan]
    repeat: int
    judge_samples: int
    concurrency: int
    selection: dict[str, Any]
    notices: list[str] = field(default_factory=list)
    offline: list[dict[str, str]] = field(default_factory=list)  # aliases that fell back to their stand-in

    def total(self) -> int:
        return sum(len(p.cases) for p in self.prompts) * self.repeat

    def items(self) -> Iterator[tuple[PromptPlan, CasePlan, int]]:
        for pp in self.prompts:
            for cp in pp.cases:
                for s in range(self.repeat):
                    yield pp, cp, s

    def judge_config_hash(self) -> str:
        """sha256 of K and every judge's configuration hash: how this run was judged."""
        return sha256_of({"samples": self.judge_samples,
                          "judges": {n: j.config_sha256 for n, j in sorted(self.judges.items())}})  # fmt: skip

    def fingerprint(self) -> str:
        what: dict[str, Any] = {
            "prompts": {p.name: p.describe() for p in self.prompts},
            "cases": {p.name: [c.case.id for c in p.cases] for p in self.prompts},
            "judges": {n: j.describe() for n, j in self.judges.items()},
            "repeat": self.repeat,
        }
        if "attack" in self.selection:  # seed and corpus: the derived cases' content
            what["attack"] = self.selection["attack"]
        return sha256_of(what)


# -- planning -----------------------------------------------------------------------------------------------


def build_plan(
    project: Project,
    options: EvalOptions,
    *,
    judge_project: Project | None = None,
    judge_fallback: Project | None = None,
) -> Plan:
    """Select prompts and cases, validate every assertion and resolve models — all before any call, so bad
    input fails (exit 2) without spending anything. ``judge_project``: where judge prompts, the judge model
    and its alias are read (the gate: the base); ``judge_fallback``: where a judge missing there is read
    instead, marked ``new`` (the gate: the change's own judge, informational)."""
    jproject = judge_project or project
    cfg = project.config
    repeat = options.repeat or cfg.eval.repeat
    k = options.judge_samples or jproject.config.judge.samples
    if repeat < 1 or k < 1:
        raise UsageError("--repeat and --judge-samples must be at least 1")
    concurrency = options.concurrency or cfg.concurrency
    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if options.api_base is not None:
        check_api_base(options.api_base)

    with_goldens = [n for n in project.golden_names() if project.source.exists(project.prompt_file(n))]
    if options.names:
        names = []
        for n in options.names:
            project.load(n)  # NotFoundError with a hint when unknown
            if project.golden_file(n) is None:
                raise NotFoundError(
                    f"prompt '{n}' has no golden set ({cfg.paths.evals}/{n}.yaml or .jsonl)",
                    file=project.prompt_file(n),
                )
            names.append(n)
        names = sorted(set(names))
    else:
        names = with_goldens
    base_sha = None
    if options.changed_since:
        root = str(project.root or os.getcwd())
        base_sha = merge_base(root, options.changed_since)
        names = changed_prompts(project, options.changed_since, names)

    notices: list[str] = []
    offline: list[dict[str, str]] = []
    targets: dict[str, Target] = {}
    trust = key_trust(project, options, base_sha)

    def target_for(config_project: Project, model_name: str, override: str | None, api_base: str | None) -> Target:
        key = f"{id(config_project)}|{model_name}|{override}|{api_base}"
        if key not in targets:
            t = resolve_target(
                config_project.config, model_name, model_override=override, api_base_override=api_base, trust=trust
            )
            if t.withheld and t.withheld not in notices:
                notices.append(t.withheld)
            if t.offline_from:
                notices.append(
                    f"{t.label}: no API key for {t.offline_from} in the environment; using offline model {t.model}"
                )
                entry = {"alias": t.label, "model": t.model, "replaces": t.offline_from}
                if entry not in offline:
                    offline.append(entry)
            targets[key] = t
        return targets[key]

    judges: dict[str, JudgePlan] = {}

    def judge_for(name: str) -> JudgePlan:
        if name not in judges:
            source, new = jproject, False
            if judge_fallback is not None and not jproject.source.exists(jproject.prompt_file(name)):
                source, new = judge_fallback, True
            jp = source.load(name)
            model_name = options.judge_model or source.config.judge.model or jp.model_name
            # --api-base follows --judge-model to the judges; without it judges keep their configured server
            api_base = options.api_base if options.judge_model else None
            target = target_for(source, model_name, None, api_base)
            digest = judge_config_sha256(jp.sha256, model_name, source.config)
            judges[name] = JudgePlan(name, jp, target, k, digest, new)
        return judges[name]

    attack = None
    if options.attack is not None:
        from .attack import AttackOptions

        attack = AttackOptions.from_dict(options.attack)
    plans: list[PromptPlan] = []
    for name in names:
        prompt = project.load(name)
        stub = import_stub(prompt.spec.metadata)
        if stub is not None:  # `llmops import` kept a prompt it could not map as a marked stub
            raise PromptFileError(
                f"prompt '{name}' is an import stub ({stub}): write its messages and remove metadata.import.stub "
                "before evaluating it",
                file=prompt.file,
            )
        golden = project.golden_set(name)
        assert golden is not None
        if golden.duplicate_ids:
            dup, index = golden.duplicate_ids[0]
            raise PromptFileError(f"duplicate case id {dup!r}", file=golden.file, line=golden.line_at(index))
        target = target_for(project, prompt.model_name, options.model, options.api_base)
        schema = prompt.spec.output.schema_
        cases: list[CasePlan] = []
        used: dict[str, JudgePlan] = {}
        judged_by: dict[str, set[str]] = {}
        for case in golden.cases:
            try:
                specs = parse_assertions(
                    golden.asserts_for(case),
                    file=golden.file,
                    line=None,
                    where=f"case {case.id!r}",
                    output_schema=schema,
                )
            except PromptFileError as exc:  # the line is looked up only when needed (it re-reads the YAML)
                exc.line = _assert_line(golden, case)
                raise
            variables = golden.vars_for(case)
            try:
                prompt.validate(variables)
            except UserError as exc:
                raise PromptFileError(
                    f"case {case.id!r}: {exc.message}", file=golden.file, line=golden.line_of(case.id, "vars")
                ) from None
            judge_of: dict[int, str] = {}
            for spec in specs:
                if spec.is_judge:
                    jplan = judge_for(judge_prompt_name(spec, jproject.config.judge))
                    used[jplan.name] = jplan
                    judge_of[spec.index] = jplan.name
                    judged_by.setdefault(spec.metric, set()).add(jplan.name)
                    cands = candidate_inputs(spec, variables=variables, expected=case.expected, output="", messages=[])
                    cands["question"] = cands["question"] or "(the prompt)"
                    missing = missing_required(jplan.prompt.spec.inputs, cands)
                    if missing:
                        what = {"reference": "an 'expected' answer", "context": "a context variable"}
                        raise PromptFileError(
                            f"case {case.id!r}: assertion {spec.index} ({spec.type}) needs "
                            + ", ".join(what.get(m, repr(m)) for m in missing)
                            + f" for judge '{jplan.name}'",
                            file=golden.file,
                            line=_assert_line(golden, case),
                        )
            sharded_as = (options.shard_as or {}).get(name, name)
            if options.shard and shard_of(sharded_as, case.id, options.shard[1]) != options.shard[0]:
                continue
            cases.append(CasePlan(case, variables, specs, judge_of))
        if attack is not None:
            cases = _attack_cases(prompt, cases, attack, golden.file, notices)
            used = {}
        plans.append(
            PromptPlan(
                name=name,
                prompt=prompt,
                golden=golden,
                golden_sha256=sha256_of(project.source.read_text(golden.file)),
                target=target,
                cases=cases,
                judges=used,
                min_pass_rate=golden.defaults.min_pass_rate
                if golden.defaults.min_pass_rate is not None
                else cfg.eval.min_pass_rate,
                max_error_rate=cfg.eval.max_error_rate,
                judged_by={m: sorted(js) for m, js in judged_by.items()},
            )
        )
    selection: dict[str, Any] = {"names": names, "changed_since": options.changed_since, "merge_base": base_sha}
    if attack is not None:
        selection["attack"] = attack.to_dict()
        judges = {n: j for n, j in judges.items() if any(n in p.judges for p in plans)}
    return Plan(plans, judges, repeat, k, concurrency, selection, notices, offline)


def key_trust(project: Project, options: EvalOptions, base_sha: str | None = None) -> KeyTrust:
    """Which alias/api_base/key-variable pairings may carry a key in this run (see :mod:`llmops_cli.models.trust`):
    those of ``llmops.yaml`` at merge-base(``--base`` or ``--changed-since``, HEAD); none in a pull-request job
    without a base; else the working tree's."""
    ref = options.base or options.changed_since
    if ref is None:
        return NO_TRUST if in_pull_request() else TRUST_ALL
    root = str(project.root or os.getcwd())
    sha = base_sha if base_sha is not None and not options.base else merge_base(root, ref)
    base = Project.at_ref(sha, root)
    return trust_of(base.config, f"llmops.yaml at {ref[:80]} (merge-base {sha[:12]})")


def _attack_cases(prompt: Prompt, cases: list[CasePlan], attack: Any, file: str, notices: list[str]) -> list[CasePlan]:
    """The derived adversarial cases of a prompt's planned cases (:mod:`.attack`); judges are not used. Inputs
    with an ``enum`` and image/file/pdf inputs (paths, not text) are never injected into; a derived case whose
    variables the prompt refuses (an item schema with a length limit…) is left out, with a notice."""
    from .attack import canary_assertion, derive_cases

    skip = frozenset(k for k, spec in prompt.spec.inputs.items() if spec.enum is not None or spec.is_media)
    out, refused = [], 0
    for d in derive_cases(prompt.name, [(cp.case, cp.variables) for cp in cases], attack, skip):
        try:
            prompt.validate(d.variables)
        except UserError:
            refused += 1
            continue
        out.append(CasePlan(d.case, d.variables, canary_assertion(d.canary, file)))
    if refused:
        notices.append(f"{prompt.name}: {refused} derived attack case(s) left out: the prompt refuses their inputs")
    return out


def _assert_line(golden: GoldenSet, case: Case) -> int | None:
    return golden.line_of(case.id, "assert") if case.asserts else golden.line_of(case.id)
