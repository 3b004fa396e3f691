"""``llmops import promptfoo``: a ``promptfooconfig.yaml`` → llmops prompts, golden sets and model aliases.

Mapped: prompts (inline, ``file://`` text / chat JSON / YAML, globs, ``---``-separated files, labels),
providers (→ ``llmops.yaml`` aliases with litellm ids; generation params), ``tests`` and ``defaultTest``
(inline or ``file://`` YAML/JSON/JSONL/CSV, ``__expected`` columns, ``file://`` vars, array vars expanded),
assertions with the same meaning (see :data:`DIRECT`), ``not-`` prefixes, weights, thresholds and metrics,
``assertionTemplates`` ``$ref``s and ``assert-set``s. Everything else is reported with its location.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
from typing import Any

from ..errors import PromptFileError
from .common import (
    GENERATION_PARAMS,
    MAX_CASES,
    MAX_EXPANSION,
    MAX_FILES,
    MISSING,
    DraftCase,
    DraftPrompt,
    GapLog,
    ModelAliasDraft,
    SourceDir,
    assertion_problem,
    load_data_file,
    load_yaml_text,
    param_problem,
    plain,
    read_bounded,
    slug,
    stringify,
    unique,
)
from .report import Gap
from .templates import nunjucks_to_jinja

# promptfoo assertion type → llmops type, where the meaning is the same.
DIRECT = {
    "equals": "equals",
    "contains": "contains",
    "icontains": "icontains",
    "starts-with": "starts-with",
    "regex": "regex",
    "contains-any": "contains-any",
    "icontains-any": "icontains-any",
    "contains-all": "contains-all",
    "icontains-all": "icontains-all",
}
JUDGED = {"llm-rubric", "model-graded-closedqa", "g-eval", "factuality", "model-graded-factuality"}
JUDGED |= {"answer-relevance", "context-faithfulness"}
KNOWN_TOP = {
    "description",
    "prompts",
    "providers",
    "targets",
    "tests",
    "defaultTest",
    "assertionTemplates",
    "tags",
    "version",
    "$schema",
}
# promptfoo provider prefix → litellm provider prefix.
PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure",
    "azureopenai": "azure",
    "ollama": "ollama_chat",
    "groq": "groq",
    "mistral": "mistral",
    "google": "gemini",
    "gemini": "gemini",
    "vertex": "vertex_ai",
    "bedrock": "bedrock",
    "openrouter": "openrouter",
    "huggingface": "huggingface",
    "deepseek": "deepseek",
    "togetherai": "together_ai",
    "together": "together_ai",
    "perplexity": "perplexity",
    "xai": "xai",
    "fireworks": "fireworks_ai",
    "cohere": "cohere",
    "cerebras": "cerebras",
    "vllm": "hosted_vllm",
    "lmstudio": "lm_studio",
    "databricks": "databricks",
    "watsonx": "watsonx",
    "replicate": "replicate",
}
_KINDS = {"chat", "messages", "completion", "responses", "text-generation"}
# provider config key → llmops param (same meaning)
PARAMS = {**GENERATION_PARAMS, "num_predict": "max_tokens"}
_PROMPT_EXT = (".txt", ".md", ".j2", ".njk", ".nunjucks", ".prompt", ".json", ".yaml", ".yml", ".jsonl")
_CODE_EXT = (".js", ".mjs", ".cjs", ".ts", ".py")


class _State:
    """Everything one config import accumulates."""

    def __init__(self, src: SourceDir, log: GapLog, data: dict[str, Any]) -> None:
        self.src = src
        self.log = log
        self.data = data
        self.logs: dict[str, GapLog] = {log.file: log}
        self.report_mapped: dict[str, int] = {}
        self.files = 0

    def mapped(self, what: str, n: int = 1) -> None:
        self.report_mapped[what] = self.report_mapped.get(what, 0) + n

    def file_log(self, path: str, text: str | None) -> GapLog:
        label = self.src.label(path)
        if label not in self.logs:
            self.logs[label] = GapLog(label, text)
        self.files += 1
        if self.files > MAX_FILES:
            raise PromptFileError(f"more than {MAX_FILES} referenced files", file=self.log.file)
        return self.logs[label]


def parse_promptfoo(
    config_path: str, *, label_root: str | None = None, name: str | None = None
) -> tuple[list[DraftPrompt], list[ModelAliasDraft], list[GapLog], dict[str, int]]:
    """Read a promptfoo config into draft prompts and aliases; gaps are recorded in the returned logs."""
    src = SourceDir(os.path.dirname(os.path.abspath(config_path)) or ".", label_root)
    label = src.label(config_path)
    text = read_bounded(config_path, file=label)
    data = load_yaml_text(text, label)
    if not isinstance(data, dict):
        raise PromptFileError("a promptfoo config must be a mapping (prompts, providers, tests…)", file=label, line=1)
    st = _State(src, GapLog(label, text), data)
    log = st.log

    for key in data:
        if key in KNOWN_TOP or (isinstance(key, str) and key.startswith("x-")):
            continue
        detail = {
            "outputPath": "llmops writes results to .llmops/runs/<run>/results.json (eval run --out)",
            "evaluateOptions": "use eval run --concurrency / --repeat and llmops.yaml eval settings",
            "sharing": "llmops never uploads results",
            "env": "llmops reads keys from the environment only; values were not imported",
            "redteam": "red-team generation has no llmops equivalent",
            "scenarios": "scenarios have no llmops equivalent",
            "nunjucksFilters": "custom JavaScript filters cannot run in llmops's sandbox",
            "extensions": "JavaScript/Python hooks cannot run in llmops",
            "derivedMetrics": "derived metrics have no llmops equivalent",
        }.get(str(key), "not an llmops concept")
        log.add("unmapped", (str(key),), f"top-level `{key}`", detail)

    aliases, first, output = _providers(st)
    base = name or _base_name(config_path)
    prompts = _prompts(st)
    if not prompts:
        why = "; ".join(g.marker() for lg in st.logs.values() for g in lg.gaps if g.kind == "unmapped")
        raise PromptFileError(f"no prompt could be imported ({why or 'no prompts'})", file=label, line=1)
    cases, defaults, prompt_gaps = _tests(st)

    drafts: list[DraftPrompt] = []
    taken: set[str] = set()
    for plabel, messages, _ppath in prompts:
        pname = base if len(prompts) == 1 else f"{base}/{unique(slug(plabel, 'prompt'), taken)}"
        d = DraftPrompt(
            name=pname,
            model=first,
            messages=messages,
            description=str(data.get("description") or "") if isinstance(data.get("description"), str) else "",
            output=output,
            tags=[str(t) for t in data.get("tags", [])] if isinstance(data.get("tags"), list) else [],
            source=label,
        )
        if len(prompts) > 1:
            d.metadata["promptfoo_prompt"] = plabel
        d.default_vars = dict(defaults["vars"])
        d.default_asserts = [dict(a) for a in defaults["assert"]]
        d.cases = [_copy_case(c) for c in cases]
        d.judge_vars = {v for c in cases for v in c.metadata.pop("_judge_vars", [])} | defaults["judge_vars"]
        d.gaps = list(prompt_gaps)
        for c in d.cases:
            c.metadata.pop("_judge_vars", None)
        drafts.append(d)
    return drafts, aliases, list(st.logs.values()), st.report_mapped


def _copy_case(c: DraftCase) -> DraftCase:
    return DraftCase(
        id=c.id,
        vars=json.loads(json.dumps(c.vars)),
        expected=c.expected,
        asserts=[dict(a) for a in c.asserts],
        description=c.description,
        metadata=dict(c.metadata),
        gaps=list(c.gaps),
    )


def _base_name(config_path: str) -> str:
    stem = os.path.basename(config_path)
    for suffix in (".yaml", ".yml", ".json"):
        stem = stem.removesuffix(suffix)
    stem = stem.replace("promptfooconfig", "").strip("._-")
    if not stem:
        stem = os.path.basename(os.path.dirname(os.path.abspath(config_path)))
    return slug(stem, "imported")


# -- providers ----------------------------------------------------------------------------------------------


def _providers(st: _State) -> tuple[list[ModelAliasDraft], str, Any]:
    """Aliases for the mappable providers, the alias the prompts use, and the output format."""
    data, log = st.data, st.log
    key = "providers" if "providers" in data else "targets"
    raw = data.get(key)
    if raw is None:
        items: list[Any] = []
    elif isinstance(raw, list):
        items = raw
    else:
        items = [raw]
    aliases: list[ModelAliasDraft] = []
    output: Any = "text"
    taken: set[str] = set()
    for i, item in enumerate(items):
        path: tuple[str | int, ...] = (key, i) if isinstance(raw, list) else (key,)
        pid, plabel, config = _provider_parts(item)
        if pid is None:
            log.add("unmapped", path, "provider", "not a provider id or {id, config} mapping")
            continue
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            for extra in sorted(set(item) - {"id", "label", "config"}):
                log.add("unmapped", (*path, extra), f"provider option `{extra}`", "no llmops equivalent")
        model = _litellm_id(pid)
        if model is None:
            log.add("unmapped", path, f"custom provider `{_safe(pid)}`", "llmops calls models through litellm ids only")
            continue
        alias = ModelAliasDraft(unique(slug(plabel or model.split("/", 1)[-1], "model"), taken), model)
        if pid.startswith(("openai:completion:", "ollama:completion:")):
            log.add("approximated", path, f"completion provider `{pid}`", "imported as a chat model")
        for ckey, value in (config or {}).items():
            cpath = (*path, "config", ckey)
            if ckey in PARAMS and (problem := param_problem(PARAMS[ckey], value)) is None:
                alias.params[PARAMS[ckey]] = value
                st.mapped(f"provider param {ckey}")
            elif ckey in PARAMS:
                log.add("unmapped", cpath, f"provider config `{ckey}`", f"value not accepted by llmops: {problem}")
            elif ckey in ("apiKey", "api_key"):
                log.add(
                    "unmapped", cpath, "API key written in the config", "not imported: keys belong in the environment"
                )
            elif ckey in ("apiKeyEnvar", "apiKeyEnv") and isinstance(value, str) and value.replace("_", "").isalnum():
                alias.api_key_env = value
            elif (
                ckey in ("apiBaseUrl", "baseUrl", "apiHost", "base_url")
                and isinstance(value, str)
                and "{{" not in value
            ):
                alias.api_base = value if "://" in value else f"https://{value}"
            elif ckey == "response_format" and isinstance(value, dict) and value.get("type") == "json_object":
                if i == 0:
                    output = "json"
                st.mapped("response_format json_object")
            elif (
                ckey == "response_format"
                and isinstance(value, dict)
                and value.get("type") == "json_schema"
                and isinstance(value.get("json_schema"), dict)
                and isinstance(value["json_schema"].get("schema"), dict)
            ):
                if i == 0:
                    output = {"format": "json", "schema": value["json_schema"]["schema"]}
                st.mapped("response_format json_schema")
            else:
                log.add("unmapped", cpath, f"provider config `{ckey}`", "not a generation param llmops knows")
        aliases.append(alias)
        st.mapped("provider")
    if len(aliases) > 1:
        log.add(
            "approximated",
            (key,),
            f"{len(aliases)} providers (a matrix)",
            f"prompts use `{aliases[0].name}`; evaluate the others with `llmops eval run --model ALIAS` "
            f"({', '.join(a.name for a in aliases[1:])})",
        )
    if not aliases:
        first = "chat"
        log.add(
            "approximated",
            (key,),
            "no provider llmops can call",
            "prompts use the alias `chat` from llmops.yaml; point it at your model",
        )
    else:
        first = aliases[0].name
    return aliases, first, output


def _safe(text: str) -> str:
    """A provider id for messages, with any URL credentials or query string cut off."""
    text = re.sub(r"//[^/@]*@", "//", text)
    return text.split("?", 1)[0][:120]


def _provider_parts(item: Any) -> tuple[str | None, str | None, dict[str, Any] | None]:
    if isinstance(item, str):
        return item, None, None
    if isinstance(item, dict):
        if isinstance(item.get("id"), str):
            config = item.get("config") if isinstance(item.get("config"), dict) else {}
            return item["id"], item.get("label") if isinstance(item.get("label"), str) else None, config
        if len(item) == 1:
            ((pid, body),) = item.items()
            if isinstance(pid, str) and isinstance(body, dict):
                config = body.get("config") if isinstance(body.get("config"), dict) else {}
                return pid, body.get("label") if isinstance(body.get("label"), str) else None, config
    return None, None, None


def _litellm_id(pid: str) -> str | None:
    """litellm model id of a promptfoo provider id, or None for custom providers."""
    if "://" in pid or pid.startswith(("file:", "exec:", "python:", "webhook:", "golang:")):
        return None
    head, _, rest = pid.partition(":")
    prefix = PROVIDERS.get(head)
    if prefix is None or not rest:
        return None
    kind, _, tail = rest.partition(":")
    if kind in _KINDS and tail:
        rest = tail
        if head == "ollama" and kind == "completion":
            prefix = "ollama"
    elif kind in ("embedding", "embeddings", "assistant", "realtime", "claude-agent-sdk", "image", "moderation"):
        return None
    if rest in ("claude-agent-sdk", "claude-code") or not re.fullmatch(r"[\w.\-/:@]+", rest):
        return None
    return f"{prefix}/{rest}"


# -- prompts ------------------------------------------------------------------------------------------------


def _prompts(st: _State) -> list[tuple[str, list[tuple[str, str]], tuple[str | int, ...]]]:
    data, log = st.data, st.log
    raw = data.get("prompts")
    if raw is None:
        log.add(
            "approximated",
            ("prompts",),
            "no prompts",
            "the test variable `prompt` is sent as the user message, as promptfoo does",
        )
        return [("prompt", [("user", "{{ prompt }}")], ("prompts",))]
    if isinstance(raw, str):
        entries: list[tuple[Any, str | None, tuple[str | int, ...]]] = [(raw, None, ("prompts",))]
    elif isinstance(raw, list):
        entries = [(item, None, ("prompts", i)) for i, item in enumerate(raw)]
    elif isinstance(raw, dict):
        entries = [(k, v if isinstance(v, str) else None, ("prompts", k)) for k, v in raw.items()]
    else:
        raise PromptFileError(
            "`prompts` must be a string, a list or a mapping", file=log.file, line=log.line(("prompts",))
        )
    out: list[tuple[str, list[tuple[str, str]], tuple[str | int, ...]]] = []
    for item, label, path in entries:
        for plabel, messages, mpath, mlog in _prompt_item(st, item, label, path):
            converted: list[tuple[str, str]] = []
            ok = True
            for role, content in messages:
                jinja, rewritten = nunjucks_to_jinja(content, mlog, mpath)
                if jinja is None:
                    ok = False
                    break
                for r in rewritten:
                    st.mapped(r)
                converted.append((role, jinja))
            if ok and converted:
                out.append((plabel, converted, mpath))
                st.mapped("prompt")
    return out


def _prompt_item(
    st: _State, item: Any, label: str | None, path: tuple[str | int, ...]
) -> list[tuple[str, list[tuple[str, str]], tuple[str | int, ...], GapLog]]:
    log = st.log
    if isinstance(item, dict):
        body = item.get("raw", item.get("content", item.get("id")))
        for extra in sorted(set(item) - {"raw", "content", "id", "label"}):
            log.add("unmapped", (*path, extra), f"prompt option `{extra}`", "no llmops equivalent")
        if not isinstance(body, str):
            log.add("unmapped", path, "prompt entry", "neither raw text nor a file reference")
            return []
        lab = item.get("label") if isinstance(item.get("label"), str) else None
        return _prompt_item(st, body, lab or (item.get("id") if isinstance(item.get("id"), str) else None), path)
    if not isinstance(item, str):
        log.add("unmapped", path, "prompt entry", "not a string or mapping")
        return []
    ref = item.strip()
    looks_like_file = ref.startswith("file://") or (
        "\n" not in ref and " " not in ref and ref.lower().endswith((*_PROMPT_EXT, *_CODE_EXT))
    )
    if not looks_like_file:
        return [(label or "prompt", _messages_of_text(item, st, log, path), path, log)]
    name = ref[7:] if ref.startswith("file://") else ref
    func = None
    m = re.match(r"^(.*\.(?:js|mjs|cjs|ts|py)):(\w+)$", name)
    if m:
        name, func = m.group(1), m.group(2)
    if name.lower().endswith(_CODE_EXT):
        log.add(
            "unmapped",
            path,
            "prompt function" + (f" `{func}`" if func else ""),
            f"{name}: code that builds prompts cannot run in llmops; write the prompt as a template",
        )
        return []
    if not ref.startswith("file://"):
        log.add("approximated", path, "bare prompt path", f"{name} read as a file, as promptfoo does")
    line = log.line(path)
    files = st.src.glob(name, file=log.file, line=line) if any(c in name for c in "*?[") else None
    if files is None:
        files = [st.src.resolve(name, file=log.file, line=line)]
    out: list[tuple[str, list[tuple[str, str]], tuple[str | int, ...], GapLog]] = []
    for fpath in files:
        text = read_bounded(fpath, file=log.file, line=line, what=st.src.label(fpath))
        flog = st.file_log(fpath, text)
        stem = os.path.splitext(os.path.basename(fpath))[0]
        lab = label if (label and len(files) == 1) else stem
        if fpath.endswith((".json", ".yaml", ".yml")):
            parsed = load_data_file(fpath, text, flog.file)
            if isinstance(parsed, str):
                out.append((lab, _messages_of_text(parsed, st, flog, ()), (), flog))
            elif isinstance(parsed, list):
                msgs = _chat(parsed, st, flog, ())
                if msgs:
                    out.append((lab, msgs, (), flog))
            else:
                flog.add("unmapped", (), "prompt file", "expected a chat message list or a string")
            continue
        parts = re.split(r"\n-{3,}\n", text) if "\n---\n" in text else [text]
        for j, part in enumerate(parts):
            if not part.strip():
                continue
            plab = lab if len(parts) == 1 else f"{lab}-{j + 1}"
            out.append((plab, _messages_of_text(part, st, flog, ()), (), flog))
        if len(parts) > 1:
            st.mapped("---separated prompts")
    return out


def _messages_of_text(text: str, st: _State, log: GapLog, path: tuple[str | int, ...]) -> list[tuple[str, str]]:
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and parsed and all(isinstance(m, dict) and "role" in m for m in parsed):
            return _chat(parsed, st, log, path)
    return [("user", text)]


def _chat(items: list[Any], st: _State, log: GapLog, path: tuple[str | int, ...]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, m in enumerate(items):
        mpath = (*path, i)
        if not isinstance(m, dict):
            log.add("unmapped", mpath, "chat message", "not a {role, content} mapping")
            continue
        role, content = m.get("role"), m.get("content")
        if role not in ("system", "user", "assistant"):
            log.add("unmapped", mpath, f"chat message with role `{role}`", "llmops messages are system/user/assistant")
            continue
        if not isinstance(content, str):
            log.add("unmapped", mpath, "non-text message content", "images, audio and tool parts are not imported")
            continue
        for extra in sorted(set(m) - {"role", "content"}):
            log.add("unmapped", (*mpath, extra), f"chat message field `{extra}`", "no llmops equivalent")
        out.append((role, content))
    if out:
        st.mapped("chat-format prompt")
    return out


# -- tests --------------------------------------------------------------------------------------------------


def _tests(st: _State) -> tuple[list[DraftCase], dict[str, Any], list[Gap]]:
    """Cases (for every prompt), the defaults, and gaps that apply to the prompt as a whole."""
    data, log = st.data, st.log
    defaults: dict[str, Any] = {"vars": {}, "assert": [], "judge_vars": set()}
    default_case_asserts: list[tuple[Any, GapLog, tuple[str | int, ...]]] = []
    default_gaps: list[Gap] = []
    prompt_gaps: list[Gap] = []
    dt = data.get("defaultTest")
    dlog, dpath = log, ("defaultTest",)
    if isinstance(dt, str):
        dpath_file, text = st.src.read_text(dt, file=log.file, line=log.line(dpath))
        dlog = st.file_log(dpath_file, text)
        dt = load_data_file(dpath_file, text, dlog.file)
        dpath = ()
    if isinstance(dt, dict):
        vars_, vgaps = _vars(st, dt.get("vars", {}), dlog, (*dpath, "vars"))
        if any(isinstance(v, list) for v in vars_.values()):
            vgaps.append(dlog.add("unmapped", (*dpath, "vars"), "array value in defaultTest.vars", "not expanded"))
            vars_ = {k: v for k, v in vars_.items() if not isinstance(v, list)}
        defaults["vars"] = vars_
        default_gaps += vgaps
        opt_gaps = _options(st, dt, dlog, dpath)
        default_gaps += opt_gaps
        raw_asserts = dt.get("assert", [])
        if isinstance(raw_asserts, list):
            for i, a in enumerate(raw_asserts):
                default_case_asserts.append((a, dlog, (*dpath, "assert", i)))
        for extra in sorted(set(dt) - {"vars", "assert", "options", "metadata", "description"}):
            default_gaps.append(dlog.add("unmapped", (*dpath, extra), f"defaultTest.{extra}", "no llmops equivalent"))
    elif dt is not None:
        raise PromptFileError("`defaultTest` must be a mapping", file=log.file, line=log.line(("defaultTest",)))

    if "assert" in data:  # a top-level assert list is not a promptfoo feature; promptfoo ignores it
        prompt_gaps.append(log.add("unmapped", ("assert",), "top-level `assert`", "promptfoo ignores it too"))

    tests = _test_entries(st)
    cases: list[DraftCase] = []
    taken: set[str] = set()
    for n, (test, tlog, tpath) in enumerate(tests):
        cases.extend(_cases_of_test(st, test, tlog, tpath, n, taken, default_case_asserts, defaults))
        if len(cases) > MAX_CASES:
            raise PromptFileError(f"more than {MAX_CASES:,} test cases", file=tlog.file, line=tlog.line(tpath))
    for c in cases:
        c.gaps = default_gaps + c.gaps
    if not cases and default_case_asserts:
        log.add("approximated", ("defaultTest",), "defaultTest without tests", "nothing to evaluate")
    # defaults that are the same for every case stay in `defaults`
    if cases:
        first = cases[0].metadata.get("_defaults", [])
        if all(c.metadata.get("_defaults", []) == first for c in cases):
            defaults["assert"] = first
            for c in cases:
                c.asserts = c.asserts[len(first) :]
    for c in cases:
        c.metadata.pop("_defaults", None)
    return cases, defaults, prompt_gaps


def _options(st: _State, test: dict[str, Any], log: GapLog, path: tuple[str | int, ...]) -> list[Gap]:
    gaps: list[Gap] = []
    options = test.get("options")
    if isinstance(options, dict):
        for key in options:
            opath = (*path, "options", key)
            if key == "provider":
                log.add(
                    "approximated",
                    opath,
                    "grader provider for model-graded assertions",
                    "llmops judges with llmops.yaml `judge.model` (set it to the same model)",
                )
            elif key in ("transform", "postprocess"):
                gaps.append(log.add("unmapped", opath, f"output {key}", "assertions see the raw output in llmops"))
            elif key == "transformVars":
                gaps.append(log.add("unmapped", opath, "transformVars", "JavaScript on variables cannot run in llmops"))
            elif key in ("timeout",):
                log.add("approximated", opath, "per-test timeout", "llmops.yaml eval.timeout_s applies to every call")
            else:
                gaps.append(log.add("unmapped", opath, f"test option `{key}`", "no llmops equivalent"))
    for key in ("threshold", "provider", "providers", "providerOutput", "assertScoringFunction", "prompts"):
        if key in test:
            gaps.append(log.add("unmapped", (*path, key), f"test `{key}`", "no llmops equivalent"))
    return gaps


def _test_entries(st: _State) -> list[tuple[Any, GapLog, tuple[str | int, ...]]]:
    data, log = st.data, st.log
    raw = data.get("tests")
    if raw is None:
        return []
    refs: list[tuple[Any, tuple[str | int, ...]]]
    if isinstance(raw, str):
        refs = [(raw, ("tests",))]
    elif isinstance(raw, list):
        refs = [(t, ("tests", i)) for i, t in enumerate(raw)]
    else:
        raise PromptFileError("`tests` must be a list or a file reference", file=log.file, line=log.line(("tests",)))
    out: list[tuple[Any, GapLog, tuple[str | int, ...]]] = []
    for item, path in refs:
        if isinstance(item, dict):
            out.append((item, log, path))
            continue
        if not isinstance(item, str):
            log.add("unmapped", path, "test entry", "not a mapping or file reference")
            continue
        ref = item.strip()
        name = ref[7:] if ref.startswith("file://") else ref
        if "://" in name or name.startswith("huggingface:"):
            log.add("unmapped", path, "remote test source", f"{_safe(name)}: download it and reference the file")
            continue
        if name.lower().endswith(_CODE_EXT):
            log.add("unmapped", path, "test generator", f"{name}: code that generates tests cannot run in llmops")
            continue
        line = log.line(path)
        files = st.src.glob(name, file=log.file, line=line) if any(c in name for c in "*?[") else None
        files = files or [st.src.resolve(name, file=log.file, line=line)]
        for fpath in files:
            out.extend(_test_file(st, fpath, log, line))
        st.mapped("tests file", len(files))
    return out


def _test_file(
    st: _State, fpath: str, log: GapLog, line: int | None
) -> list[tuple[Any, GapLog, tuple[str | int, ...]]]:
    text = read_bounded(fpath, file=log.file, line=line, what=st.src.label(fpath))
    lower = fpath.lower()
    if lower.endswith(".csv") or lower.endswith(".tsv"):
        flog = st.file_log(fpath, None)
        return _csv_tests(text, flog, "\t" if lower.endswith(".tsv") else ",")
    if lower.endswith(".jsonl"):
        flog = st.file_log(fpath, None)
        rows: list[tuple[Any, GapLog, tuple[str | int, ...]]] = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                rows.append((json.loads(raw), _LineLog(flog, lineno), ()))
            except RecursionError:
                raise PromptFileError("nested too deeply", file=flog.file, line=lineno) from None
            except ValueError as exc:
                raise PromptFileError(f"invalid JSON line: {exc}", file=flog.file, line=lineno) from None
        return rows
    flog = st.file_log(fpath, text)
    parsed = load_data_file(fpath, text, flog.file)
    if isinstance(parsed, dict):
        return [(parsed, flog, ())]
    if isinstance(parsed, list):
        return [(t, flog, (i,)) for i, t in enumerate(parsed)]
    raise PromptFileError("a tests file must hold a list of tests", file=flog.file, line=1)


class _LineLog(GapLog):
    """A gap log for one line of a JSONL/CSV file."""

    def __init__(self, parent: GapLog, lineno: int) -> None:
        super().__init__(parent.file)
        self.gaps = parent.gaps
        self.lineno = lineno

    def line(self, path: tuple[str | int, ...]) -> int | None:
        return self.lineno

    def add(
        self, kind: Any, path: tuple[str | int, ...], construct: str, detail: str = "", *, line: int | None = None
    ) -> Gap:
        return super().add(kind, path, construct, detail, line=self.lineno)


def _csv_tests(text: str, flog: GapLog, delimiter: str) -> list[tuple[Any, GapLog, tuple[str | int, ...]]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = list(itertools.islice(reader, MAX_CASES + 2))
    except csv.Error as exc:
        raise PromptFileError(f"invalid CSV: {exc}", file=flog.file, line=reader.line_num) from None
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    out: list[tuple[Any, GapLog, tuple[str | int, ...]]] = []
    for n, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        rlog = _LineLog(flog, n)
        test: dict[str, Any] = {"vars": {}, "assert": []}
        for col, cell in zip(header, row, strict=False):
            if re.fullmatch(r"__expected\d*", col):
                if cell.strip():
                    test["assert"].append(_expected_string(cell))
            elif col == "__description":
                test["description"] = cell
            elif col.startswith("__metadata:"):
                test.setdefault("metadata", {})[col.split(":", 1)[1]] = cell
            elif col.startswith("__"):
                rlog.add("unmapped", (col,), f"CSV column `{col}`", "no llmops equivalent")
            else:
                test["vars"][col] = cell
        out.append((test, rlog, ()))
    return out


_EXPECTED_PREFIX = re.compile(r"^(not-)?([a-z][a-z0-9-]*):\s?(.*)$", re.DOTALL)


def _expected_string(cell: str) -> dict[str, Any]:
    """A promptfoo ``__expected`` cell (``contains: x``, ``grade: …``, ``javascript: …`` or a plain value)."""
    m = _EXPECTED_PREFIX.match(cell.strip())
    if m:
        neg, kind, value = m.groups()
        kind = {"grade": "llm-rubric", "fn": "javascript", "eval": "javascript"}.get(kind, kind)
        if kind in ("is-json", "contains-json") and not value.strip():
            return {"type": f"{neg or ''}{kind}"}
        known = set(DIRECT) | JUDGED | {"is-json", "contains-json", "javascript", "python", "similar", "levenshtein"}
        if kind in known:
            if kind in ("contains-any", "contains-all", "icontains-any", "icontains-all"):
                return {"type": f"{neg or ''}{kind}", "value": [v.strip() for v in value.split(",")]}
            return {"type": f"{neg or ''}{kind}", "value": value}
    return {"type": "equals", "value": cell}


def _vars(st: _State, raw: Any, log: GapLog, path: tuple[str | int, ...]) -> tuple[dict[str, Any], list[Gap]]:
    gaps: list[Gap] = []
    if isinstance(raw, str):
        fpath, text = st.src.read_text(raw, file=log.file, line=log.line(path))
        raw = load_data_file(fpath, text, st.src.label(fpath))
    if raw is None:
        return {}, gaps
    if not isinstance(raw, dict):
        gaps.append(log.add("unmapped", path, "vars", "not a mapping"))
        return {}, gaps
    out: dict[str, Any] = {}
    for key, value in raw.items():
        vpath = (*path, key)
        key = str(key)
        if isinstance(value, str) and value.startswith("file://"):
            name = value[7:]
            if name.lower().endswith((".js", ".mjs", ".cjs", ".py")) or re.search(r"\.(js|mjs|cjs|ts|py):\w+$", name):
                gaps.append(log.add("unmapped", vpath, "variable computed by code", f"{name}: not imported"))
                continue
            if name.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".mp3", ".wav")):
                gaps.append(
                    log.add("unmapped", vpath, "binary file variable", f"{name}: images/audio are not imported")
                )
                continue
            fpath, text = st.src.read_text(value, file=log.file, line=log.line(vpath))
            loaded = (
                load_data_file(fpath, text, st.src.label(fpath)) if fpath.endswith((".json", ".yaml", ".yml")) else text
            )
            out[key] = plain(loaded)
            st.mapped("file:// variable")
        else:
            out[key] = plain(value)
    return out, gaps


def _cases_of_test(
    st: _State,
    test: Any,
    log: GapLog,
    path: tuple[str | int, ...],
    n: int,
    taken: set[str],
    default_asserts: list[tuple[Any, GapLog, tuple[str | int, ...]]],
    defaults: dict[str, Any],
) -> list[DraftCase]:
    if not isinstance(test, dict):
        log.add("unmapped", path, "test", "not a mapping")
        return []
    vars_, gaps = _vars(st, test.get("vars", {}), log, (*path, "vars"))
    gaps += _options(st, test, log, path)
    for extra in sorted(set(test) - {"vars", "assert", "description", "options", "metadata", "threshold", "provider"}):
        if extra not in ("providers", "providerOutput", "assertScoringFunction", "prompts"):
            gaps.append(log.add("unmapped", (*path, extra), f"test field `{extra}`", "no llmops equivalent"))
    # array vars: one test per combination, as promptfoo does
    arrays = {k: v for k, v in vars_.items() if isinstance(v, list)}
    combos: list[dict[str, Any]] = [{}]
    if arrays:
        size = 1
        for v in arrays.values():
            size *= max(len(v), 1)
        if size > MAX_EXPANSION:
            raise PromptFileError(
                f"array vars expand into {size:,} cases (limit {MAX_EXPANSION:,})", file=log.file, line=log.line(path)
            )
        keys = list(arrays)
        combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*(arrays[k] for k in keys))]
        st.mapped("array vars expanded")
    desc = test.get("description") if isinstance(test.get("description"), str) else None
    base_id = slug(desc, f"case-{n + 1:03d}", 80) if desc else f"case-{n + 1:03d}"
    out: list[DraftCase] = []
    for j, combo in enumerate(combos):
        case_vars = {**vars_, **combo}
        cid = unique(base_id if len(combos) == 1 else f"{base_id}-{j + 1}", taken)
        case = DraftCase(id=cid, vars=case_vars, description=desc, gaps=list(gaps))
        meta = test.get("metadata")
        if isinstance(meta, dict):
            case.metadata.update(plain(meta))
        all_vars = {**defaults["vars"], **case_vars}
        judge_vars: set[str] = set()
        default_mapped: list[dict[str, Any]] = []
        for a, alog, apath in default_asserts:
            default_mapped += _map_assert(st, a, alog, apath, all_vars, case, judge_vars)
        own = test.get("assert", [])
        if isinstance(own, list):
            for i, a in enumerate(own):
                case.asserts += _map_assert(st, a, log, (*path, "assert", i), all_vars, case, judge_vars)
        elif own is not None:
            case.gaps.append(log.add("unmapped", (*path, "assert"), "assert", "not a list"))
        case.asserts = default_mapped + case.asserts
        case.metadata["_defaults"] = default_mapped
        case.metadata["_judge_vars"] = sorted(judge_vars)
        out.append(case)
        st.mapped("test case")
    return out


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


def _render_value(value: Any, variables: dict[str, Any]) -> Any:
    """Substitute ``{{var}}`` / ``{{var.key}}`` in an assertion value with the case's variables, as promptfoo
    renders assertion values. Only plain placeholders: template logic in a value is refused (ValueError)."""
    if isinstance(value, list):
        return [_render_value(v, variables) for v in value]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value

    def sub(m: re.Match[str]) -> str:
        cur: Any = variables
        for part in m.group(1).split("."):
            if not isinstance(cur, dict) or part not in cur:
                raise ValueError(f"`{m.group(1)}` is not a variable of the test")
            cur = cur[part]
        return stringify(cur)

    out = _PLACEHOLDER.sub(sub, value)
    if "{{" in _PLACEHOLDER.sub("", value) or "{%" in value:
        raise ValueError("template logic in an assertion value")
    return out


def _map_assert(
    st: _State,
    a: Any,
    log: GapLog,
    path: tuple[str | int, ...],
    variables: dict[str, Any],
    case: DraftCase,
    judge_vars: set[str],
    depth: int = 0,
) -> list[dict[str, Any]]:
    """llmops assertions for one promptfoo assertion; an unmapped one adds a gap to the case."""

    def gap(construct: str, detail: str) -> list[dict[str, Any]]:
        if not any(g.path == _yp(path) and g.file == log.file for g in case.gaps):
            existing = [g for g in log.gaps if g.path == _yp(path) and g.construct == construct and g.file == log.file]
            case.gaps.append(existing[0] if existing else log.add("unmapped", path, construct, detail))
        return []

    if depth > 5:
        return gap("assertion", "$ref / assert-set nested too deeply")
    if not isinstance(a, dict):
        return gap("assertion", "not a mapping")
    if "$ref" in a:
        ref = a["$ref"]
        templates = st.data.get("assertionTemplates")
        m = re.fullmatch(r"#/assertionTemplates/(.+)", ref) if isinstance(ref, str) else None
        if not m or not isinstance(templates, dict) or m.group(1) not in templates:
            return gap("assertion $ref", f"{ref!r} does not name an assertionTemplates entry")
        st.mapped("assertionTemplates $ref")
        return _map_assert(
            st,
            templates[m.group(1)],
            st.log,
            ("assertionTemplates", m.group(1)),
            variables,
            case,
            judge_vars,
            depth + 1,
        )
    raw_type = a.get("type")
    if not isinstance(raw_type, str):
        return gap("assertion", "no type")
    if raw_type == "assert-set":
        children = a.get("assert")
        if not isinstance(children, list) or "threshold" in a:
            return gap("assert-set with a threshold", "llmops requires every assertion to pass")
        out: list[dict[str, Any]] = []
        for i, child in enumerate(children):
            out += _map_assert(st, child, log, (*path, "assert", i), variables, case, judge_vars, depth + 1)
        st.mapped("assert-set")
        return out
    negate = raw_type.startswith("not-")
    base = raw_type[4:] if negate else raw_type
    for key in ("transform", "contextTransform", "rubricPrompt", "config"):
        if key in a:
            return gap(f"{raw_type} assertion with `{key}`", "JavaScript / custom grader prompts cannot run in llmops")
    value = a.get("value")
    if isinstance(value, str) and value.startswith("file://"):
        if value[7:].lower().endswith(_CODE_EXT):
            return gap(f"{raw_type} assertion", f"code in {value[7:]} cannot run in llmops")
        fpath, text = st.src.read_text(value, file=log.file, line=log.line(path))
        value = load_data_file(fpath, text, st.src.label(fpath)) if fpath.endswith((".json", ".yaml", ".yml")) else text
    try:
        value = _render_value(value, variables)
    except ValueError as exc:  # a template the case cannot render: report, never guess
        return gap(f"{raw_type} assertion", f"value template does not render: {exc}")
    extra: dict[str, Any] = {}
    if isinstance(a.get("weight"), int | float) and not isinstance(a.get("weight"), bool) and a["weight"] >= 0:
        extra["weight"] = a["weight"]
    if isinstance(a.get("metric"), str) and a["metric"]:
        extra["metric"] = a["metric"]
    threshold = a.get("threshold")
    if "provider" in a:
        log.add("approximated", (*path, "provider"), "grader provider", "llmops uses llmops.yaml `judge.model`")
    if "description" in a and not any(g.construct == "assertion description" for g in log.gaps):
        log.add(
            "approximated", (*path, "description"), "assertion description", "llmops assertions have none; not kept"
        )

    mapped: dict[str, Any] | None = None
    if base in DIRECT:
        if base.endswith(("-any", "-all")):
            values = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")] if value else None
            if not values or not all(isinstance(v, str | int | float) for v in values):
                return gap(f"{raw_type} assertion", "value is not a list of strings")
            mapped = {"type": base, "values": values}
        elif base == "equals":
            if value is None:
                return gap("equals assertion", "no value")
            mapped = {"type": "equals", "value": value}
        else:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                return gap(f"{raw_type} assertion", "value is not a string")
            mapped = {"type": base, "value": value}
            if base == "regex":
                try:
                    re.compile(str(value))
                except re.error as exc:
                    return gap("regex assertion", f"JavaScript regex that Python cannot compile: {exc}")
    elif base in ("is-json", "contains-json"):
        if value is None:
            mapped = {"type": "is-json"}
        elif isinstance(value, dict):
            mapped = {"type": "json-schema", "schema": value}
        else:
            return gap(f"{raw_type} assertion", f"value {type(value).__name__} is neither absent nor a JSON Schema")
        if base == "contains-json":
            log.add(
                "approximated",
                path,
                "contains-json",
                "llmops checks the whole output (or one fenced block) is JSON; promptfoo finds JSON anywhere in it",
            )
    elif base in ("cost", "latency") and not negate:
        if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not math.isfinite(threshold):
            return gap(f"{base} assertion", "no finite numeric threshold")
        mapped = {"type": "cost", "max_usd": threshold} if base == "cost" else {"type": "latency", "max_ms": threshold}
        threshold = None
    elif base in JUDGED and negate:
        return gap(f"{raw_type} assertion", "a model-graded assertion cannot be negated in llmops")
    elif base in ("llm-rubric", "model-graded-closedqa", "g-eval"):
        criteria = "\n".join(map(str, value)) if isinstance(value, list) else value
        if not isinstance(criteria, str) or not criteria.strip():
            return gap(f"{base} assertion", "no rubric text")
        mapped = {"type": "judge", "criteria": criteria}
        if base == "g-eval":
            log.add("approximated", path, "g-eval", "graded by the llmops rubric judge with the same criteria")
    elif base in ("factuality", "model-graded-factuality"):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return gap("factuality assertion", "no reference value")
        if case.expected is not MISSING and case.expected != value:
            return gap("second factuality reference", "llmops compares against one `expected` per case")
        case.expected = value
        mapped = {"type": "factuality"}
    elif base == "answer-relevance":
        mapped = {"type": "answer-relevance"}
        if "query" in variables and "question" not in variables:
            mapped["question_var"] = "query"
            judge_vars.add("query")
    elif base == "context-faithfulness":
        if "context" not in variables:
            return gap("context-faithfulness assertion", "the test has no `context` variable")
        mapped = {"type": "faithfulness", "context_var": "context"}
        judge_vars.add("context")
    elif base == "javascript" and isinstance(value, str) and (js := _js_expression(value)) is not None:
        mapped = js
        log.add(
            "approximated",
            path,
            f"javascript `{value.strip()[:60]}`",
            f"a simple length/includes check, mapped to {js['type']} (JavaScript counts UTF-16 code units)",
        )
    else:
        detail = {
            "javascript": "JavaScript cannot run in llmops",
            "python": "Python assertions cannot run in llmops",
            "similar": "embedding similarity has no llmops equivalent",
            "webhook": "webhooks are not called",
            "context-recall": "no llmops equivalent",
            "context-relevance": "no llmops equivalent",
        }.get(base, "no llmops assertion with the same meaning")
        return gap(f"{raw_type} assertion", detail)
    if negate:
        t = mapped["type"]
        mapped["type"] = t[4:] if t.startswith("not-") else f"not-{t}"
    if threshold is not None:
        if isinstance(threshold, int | float) and not isinstance(threshold, bool) and 0 <= threshold <= 1:
            if mapped["type"] in ("judge", "factuality", "answer-relevance", "faithfulness"):
                mapped["threshold"] = threshold
            elif not mapped["type"].endswith(("-all",)):
                log.add("approximated", (*path, "threshold"), f"threshold on {raw_type}", "ignored: it is pass/fail")
            else:
                mapped["threshold"] = threshold
        else:
            return gap(f"{raw_type} assertion threshold", f"{threshold!r} is not in [0, 1]")
    mapped.update(extra)
    problem = assertion_problem(mapped)
    if problem:
        return gap(f"{raw_type} assertion", f"not valid in llmops: {problem}")
    st.mapped(f"assert {raw_type}")
    return [mapped]


def _yp(path: tuple[str | int, ...]) -> str:
    from .common import yaml_path

    return yaml_path(path)


_JS_LENGTH = re.compile(r"^(?:return\s+)?output\.length\s*(<=|<|>=|>)\s*(\d{1,9})\s*(?:\?\s*1\s*:\s*0\s*)?;?$")
_JS_INCLUDES = re.compile(
    r"""^(?:return\s+)?(!?)\s*output(\.toLowerCase\(\))?\.includes\(\s*(['"])([^'"\\]{1,200})\3\s*\)\s*;?$"""
)


def _js_expression(code: str) -> dict[str, Any] | None:
    """The llmops assertion with the same meaning as a one-line JavaScript length or ``includes`` check."""
    text = code.strip()
    m = _JS_LENGTH.match(text)
    if m:
        op, n = m.group(1), int(m.group(2))
        bound = {"<=": ("max", n), "<": ("max", n - 1), ">=": ("min", n), ">": ("min", n + 1)}[op]
        return None if bound[1] < 0 else {"type": "char-count", bound[0]: bound[1]}
    m = _JS_INCLUDES.match(text)
    if m:
        negate, lower, _, needle = m.groups()
        if lower and needle != needle.lower():
            return None  # lower-cased output never includes an upper-case needle: leave it to the report
        kind = "icontains" if lower else "contains"
        return {"type": f"not-{kind}" if negate else kind, "value": needle}
    return None
