"""``llmops import prompty``: ``.prompty`` files → llmops prompts and golden sets.

Mapped: front matter ``name``/``description``/``authors``/``tags``, ``model`` (``configuration`` → an alias
with a litellm id; ``parameters`` → params; ``response_format: json_object`` → JSON output), ``inputs``
(types, defaults, descriptions), ``sample`` (inline or a file beside the prompt → a golden case), the
role-marked body (``system:`` / ``user:`` / ``assistant:`` lines) as Jinja messages, and tools:
``model.parameters.tools`` / ``functions`` / ``tool_choice`` / ``parallel_tool_calls`` and a top-level
``tools`` list (function tools; see :mod:`.tools`).
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import PromptFileError
from .common import (
    GENERATION_PARAMS,
    DraftCase,
    DraftPrompt,
    GapLog,
    ModelAliasDraft,
    SourceDir,
    checked_name,
    load_data_file,
    load_yaml_text,
    param_problem,
    plain,
    read_bounded,
    slug,
)
from .gh_models import model_id

PARAMS = GENERATION_PARAMS
TYPES = {
    "string": "string",
    "str": "string",
    "number": "number",
    "float": "number",
    "integer": "integer",
    "int": "integer",
    "boolean": "boolean",
    "bool": "boolean",
    "list": "array",
    "array": "array",
    "object": "object",
    "dict": "object",
}
_ROLE = re.compile(r"^\s*#?\s*(system|user|assistant|developer|function|tool)\s*:\s*$", re.IGNORECASE)
_DYNAMIC_ROLE = re.compile(r"^\s*\{\{[^}]*\}\}\s*:\s*$", re.MULTILINE)
_KNOWN = {"name", "description", "authors", "version", "tags", "model", "inputs", "outputs", "sample", "template"}
_KNOWN |= {"tools"}
TOOL_PARAMS = ("tools", "functions", "tool_choice", "function_call", "parallel_tool_calls")
_KNOWN |= {"$schema", "metadata"}


def _split(text: str, label: str) -> tuple[str | None, str, int]:
    """(front matter or None, body, line where the body starts)."""
    if not text.startswith("---"):
        return None, text, 1
    m = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|$)", text, re.DOTALL)
    if not m:
        raise PromptFileError("front matter opened with --- is never closed", file=label, line=1)
    return m.group(1), text[m.end() :], text[: m.end()].count("\n") + 1


def parse_prompty(
    path: str, *, label_root: str | None = None
) -> tuple[list[DraftPrompt], list[ModelAliasDraft], list[GapLog], dict[str, int]]:
    src = SourceDir(os.path.dirname(os.path.abspath(path)) or ".", label_root)
    label = src.label(path)
    text = read_bounded(path, file=label)
    front_text, body, body_line = _split(text, label)
    front: Any = load_yaml_text(front_text, label) if front_text is not None else {}
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise PromptFileError("the front matter must be a mapping", file=label, line=2)
    # line numbers of the front matter are offset by the opening '---'
    log = GapLog(label, "\n" + front_text if front_text is not None else None)
    mapped: dict[str, int] = {}

    def count(what: str) -> None:
        mapped[what] = mapped.get(what, 0) + 1

    for key in front:
        if key not in _KNOWN:
            log.add("unmapped", (str(key),), f"front matter `{key}`", "not part of the prompty format llmops knows")
    if front_text is None:
        log.add("approximated", (), "no front matter", "no model, inputs or sample: the prompt uses the alias `chat`")

    # template engine
    engine = front.get("template", "jinja2")
    if isinstance(engine, dict):
        engine = engine.get("format", "jinja2")
    mustache = engine in ("mustache", "handlebars")
    if engine not in ("jinja2", "mustache", "handlebars"):
        log.add("unmapped", ("template",), f"template format {engine!r}", "read as Jinja")

    # model
    alias, params, output = _model(front.get("model"), log, count)

    # inputs
    declared: dict[str, dict[str, Any]] = {}
    inputs = front.get("inputs") or {}
    if isinstance(inputs, dict):
        for name, spec in inputs.items():
            ipath = ("inputs", name)
            if isinstance(spec, str):
                spec = {"type": spec}
            if not isinstance(spec, dict):
                log.add("unmapped", ipath, f"input `{name}`", "not a mapping")
                continue
            d: dict[str, Any] = {}
            t = TYPES.get(str(spec.get("type", "string")).lower())
            if t is None:
                log.add("approximated", (*ipath, "type"), f"input type {spec.get('type')!r}", "declared as string")
                t = "string"
            d["type"] = t
            if "default" in spec:
                d["default"] = spec["default"]
            if isinstance(spec.get("description"), str):
                d["description"] = spec["description"]
            if spec.get("is_chat_history"):
                log.add(
                    "unmapped",
                    (*ipath, "is_chat_history"),
                    "chat history input",
                    "llmops messages are fixed; history renders as text where the template puts it",
                )
            for extra in sorted(set(spec) - {"type", "default", "description", "is_chat_history", "sample"}):
                log.add("unmapped", (*ipath, extra), f"input field `{extra}`", "no llmops equivalent")
            declared[str(name)] = d
            count("input")
    if front.get("outputs"):
        log.add("unmapped", ("outputs",), "outputs", "llmops declares output as text or JSON with a schema")

    # body → messages
    messages: list[tuple[str, str]] = []
    role = "system"
    buf: list[str] = []
    lines = body.splitlines()
    start_line = body_line
    for n, line in enumerate(lines):
        m = _ROLE.match(line)
        if m:
            if "".join(buf).strip():
                messages.append((role, "\n".join(buf).strip("\n")))
            role, buf = m.group(1).lower(), []
            if role in ("function", "tool"):
                log.add("unmapped", (), f"`{role}:` message", "not imported", line=start_line + n)
            elif role == "developer":
                role = "system"
            continue
        buf.append(line)
    if "".join(buf).strip():
        messages.append((role, "\n".join(buf).strip("\n")))
    messages = [(r, t) for r, t in messages if r in ("system", "user", "assistant")]
    if not messages:
        raise PromptFileError("the prompt body has no message text", file=label, line=body_line)
    if _DYNAMIC_ROLE.search(body):
        log.add(
            "unmapped",
            (),
            "role markers produced by the template (chat history loop)",
            "prompty splits messages after rendering; llmops renders these lines as text in one message",
            line=body_line,
        )
    stub: str | None = None
    if not mustache:
        from .common import check_compiles

        errors = [e for e in (check_compiles(t) for _, t in messages) if e]
        if errors and re.search(r"\{\{\s*[#^/>!]", body):
            mustache = True  # Mustache/Handlebars syntax in a file that does not say so
            engine = "handlebars" if re.search(r"\{\{#(each|if|unless|with)\b", body) else "mustache"
            log.add(
                "approximated",
                ("template",),
                f"template read as {engine}",
                "it does not compile as Jinja and uses Mustache/Handlebars tags",
                line=body_line,
            )
        elif errors:
            raise PromptFileError(f"template does not compile as Jinja: {errors[0]}", file=label, line=body_line)
    if mustache:
        messages, stub = _translate_mustache(
            messages, engine == "handlebars", set(declared), log, (body, body_line), count
        )
    elif any(re.search(r"\{%", t) for _, t in messages):
        log.add(
            "approximated",
            (),
            "whitespace around {% %} block tags",
            "llmops trims the newline after a block tag and the indentation before it",
            line=body_line,
        )

    stem = os.path.basename(path).removesuffix(".prompty")
    draft = DraftPrompt(
        name=slug(stem, "prompt"),
        model=alias.name if alias else "chat",
        messages=messages,
        description=str(front.get("description") or front.get("name") or ""),
        params=params,
        output=output,
        tags=[str(t) for t in front.get("tags", [])] if isinstance(front.get("tags"), list) else [],
        declared_inputs=declared,
        source=label,
    )
    draft.tools, draft.tool_choice, draft.parallel_tool_calls = _tools(front, log, count)
    for key in ("name", "authors", "version"):
        if key in front and front[key] is not None:
            draft.metadata[key] = front[key]
    if isinstance(front.get("name"), str):
        checked_name(front["name"], "name", label, log.line(("name",)))
    if stub is not None:
        draft.metadata["import"] = {"stub": stub}
    for var in _loop_vars(messages):
        if var not in declared:
            draft.declared_inputs[var] = {"type": "array"}

    sample = front.get("sample")
    samples: list[Any] = []
    if isinstance(sample, str):
        ref = sample.removeprefix("${file:").removesuffix("}")
        fpath, stext = src.read_text(ref, file=label, line=log.line(("sample",)))
        loaded = load_data_file(fpath, stext, src.label(fpath))
        samples = loaded if isinstance(loaded, list) else [loaded]
        count("sample file")
    elif isinstance(sample, dict):
        samples = [sample]
    elif sample is not None:
        log.add("unmapped", ("sample",), "sample", "not a mapping or file name")
    for i, s in enumerate(samples):
        if not isinstance(s, dict):
            log.add("unmapped", ("sample",), "sample entry", "not a mapping")
            continue
        draft.cases.append(DraftCase(id="sample" if len(samples) == 1 else f"sample-{i + 1}", vars=plain(s)))
        count("sample")
    return [draft], [alias] if alias else [], [log], mapped


def _translate_mustache(
    messages: list[tuple[str, str]],
    handlebars: bool,
    known: set[str],
    log: GapLog,
    body_at: tuple[str, int],
    count: Any,
) -> tuple[list[tuple[str, str]], str | None]:
    """Messages translated to Jinja (see :mod:`.mustache`); an untranslatable template becomes a stub prompt
    quoting it (see :mod:`.partial`), with the construct reported. Returns (messages, stub reason or None)."""
    from .mustache import Untranslatable, translate
    from .partial import stub_messages

    engine = "Handlebars" if handlebars else "Mustache"
    out: list[tuple[str, str]] = []
    for role, text in messages:
        try:
            jinja, constructs = translate(text, handlebars=handlebars, known=known or None)
        except Untranslatable as exc:
            body, body_line = body_at
            offset = max(body.find(text), 0)
            line = body_line + body.count("\n", 0, offset) + exc.line - 1
            log.add(
                "unmapped",
                ("template",),
                f"{engine} {exc.construct}",
                f"{exc.detail}; the prompt is imported as a stub quoting the template",
                line=line,
            )
            reason = f"the {engine} template has {exc.construct}, which has no faithful Jinja translation"
            quoted = "\n\n".join(f"--- {r} ---\n{t}" for r, t in messages)
            return stub_messages(reason, quoted, sorted(known)), reason
        for c in sorted(constructs):
            count(f"{engine} {c}")
        out.append((role, jinja))
    count(f"{engine} template")
    return out, None


def _loop_vars(messages: list[tuple[str, str]]) -> set[str]:
    out: set[str] = set()
    for _, t in messages:
        out |= set(re.findall(r"\{%-?\s*for\s+\w+(?:\s*,\s*\w+)?\s+in\s+([A-Za-z_]\w*)\s*-?%\}", t))
    return out


def _model(model: Any, log: GapLog, count: Any) -> tuple[ModelAliasDraft | None, dict[str, Any], Any]:
    params: dict[str, Any] = {}
    output: Any = "text"
    if model is None:
        return None, params, output
    if isinstance(model, str):
        mid, note = model_id(model)
        if note:
            log.add("approximated", ("model",), f"model `{model}`", note)
        return ModelAliasDraft(slug(mid.split("/", 1)[1], "model"), mid), params, output
    if not isinstance(model, dict):
        log.add("unmapped", ("model",), "model", "not a mapping")
        return None, params, output
    if model.get("api") not in (None, "chat"):
        log.add("approximated", ("model", "api"), f"api {model.get('api')!r}", "llmops calls the chat API")
    alias: ModelAliasDraft | None = None
    conf = model.get("configuration") or {}
    if isinstance(conf, dict):
        ctype = conf.get("type")
        name = conf.get("azure_deployment") or conf.get("name") or conf.get("model")
        literal = isinstance(name, str) and name and not name.startswith("${")
        if ctype in ("azure_openai", "azure") and literal:
            alias = ModelAliasDraft(slug(str(name), "model"), f"azure/{name}")
            endpoint = conf.get("azure_endpoint")
            if isinstance(endpoint, str) and endpoint.startswith("https://"):
                alias.api_base = endpoint
            else:
                log.add(
                    "approximated",
                    ("model", "configuration"),
                    "Azure endpoint from the environment",
                    "litellm reads AZURE_API_BASE / AZURE_API_KEY / AZURE_API_VERSION",
                )
            count("model configuration")
        elif ctype == "openai" and literal:
            alias = ModelAliasDraft(slug(str(name), "model"), f"openai/{name}")
            count("model configuration")
        else:
            log.add(
                "unmapped",
                ("model", "configuration"),
                f"model configuration type {ctype!r}" + ("" if literal else " without a literal model name"),
                "the prompt uses the alias `chat` from llmops.yaml",
            )
        for key in conf:
            if key in ("api_key", "key"):
                log.add("unmapped", ("model", "configuration", key), "API key", "keys belong in the environment")
    parameters = model.get("parameters") or {}
    if isinstance(parameters, dict):
        for key, value in parameters.items():
            ppath = ("model", "parameters", key)
            if key in TOOL_PARAMS:
                continue  # _tools
            if key in PARAMS and (problem := param_problem(PARAMS[key], value)) is None:
                params[PARAMS[key]] = value
                count(f"parameter {key}")
            elif key in PARAMS:
                log.add("unmapped", ppath, f"model parameter `{key}`", f"value refused: {problem}")
            elif (
                key == "response_format" and isinstance(value, dict) and str(value.get("type")).lower() == "json_object"
            ):
                output = "json"
                count("response_format")
            else:
                log.add("unmapped", ppath, f"model parameter `{key}`", "not a generation param llmops knows")
    for key in sorted(set(model) - {"api", "configuration", "parameters", "response"}):
        log.add("unmapped", ("model", key), f"model `{key}`", "no llmops equivalent")
    if model.get("response") not in (None, "first"):
        log.add("unmapped", ("model", "response"), f"response {model.get('response')!r}", "llmops keeps the first")
    return alias, params, output


def _tools(front: dict[str, Any], log: GapLog, count: Any) -> tuple[list[dict[str, Any]], Any, bool | None]:
    """Tools from the top-level ``tools`` list and ``model.parameters`` (``tools``/``functions``, ``tool_choice``/
    ``function_call``, ``parallel_tool_calls``)."""
    from .tools import map_tool_choice, map_tools

    model = front.get("model")
    parameters = model.get("parameters") if isinstance(model, dict) else None
    parameters = parameters if isinstance(parameters, dict) else {}
    sources: list[tuple[Any, tuple[str | int, ...], str]] = []
    if front.get("tools") is not None:
        sources.append((front["tools"], ("tools",), "tools"))
    for key in ("tools", "functions"):
        if key in parameters:
            sources.append((parameters[key], ("model", "parameters", key), f"model parameter `{key}`"))
    tools: list[dict[str, Any]] = []
    for raw, path, what in sources:
        taken = {t["name"] for t in tools}
        for tool in map_tools(raw, log, path, what):
            if tool["name"] in taken:
                log.add("unmapped", path, f"tool `{tool['name']}`", "declared twice")
                continue
            tools.append(tool)
            count("tool")
    names = {t["name"] for t in tools}
    choice = None
    for key in ("tool_choice", "function_call"):
        if key in parameters:
            choice = map_tool_choice(parameters[key], names, log, ("model", "parameters", key)) or choice
    parallel = parameters.get("parallel_tool_calls")
    if parallel is not None and (not isinstance(parallel, bool) or not tools):
        why = "not true or false" if not isinstance(parallel, bool) else "no tool was imported"
        log.add("unmapped", ("model", "parameters", "parallel_tool_calls"), "parallel_tool_calls", why)
        parallel = None
    return tools, choice, parallel
