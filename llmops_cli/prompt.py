"""A loaded prompt: validated spec, resolved templates, content hash, and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .errors import VariablesError
from .hashing import sha256_of
from .models.rendered import RenderedPrompt
from .models.targets import ModelRoute, choose_target
from .records.chat import ContentPart, ResponseFormat, ToolChoice, ToolSpec
from .spec import PromptSpec
from .templating import TemplateEngine, TemplateOrigin
from .toolspec import tool_call_fields, tool_choice_record
from .variables import validate_variables

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .config import ModelAlias
    from .media.load import MediaReader
    from .models.targets import Target
    from .records.chat import ChatMessage
    from .records.feedback import FeedbackRecord
    from .serving import Completion, RetryPolicy, ServingOptions
    from .serving.served import ServedPrompt

__all__ = ["MessageTemplate", "Prompt", "RenderedPrompt"]


@dataclass(frozen=True)
class MessageTemplate:
    """A message's role and template text, with where the text came from."""

    role: str
    text: str
    origin: TemplateOrigin
    template_file: str | None = None  # the .j2 file, when not inline
    attach: tuple[str, ...] = ()  # image/file/pdf inputs sent as content parts after the text


@dataclass
class Prompt:
    """A prompt ready to render. ``sha256`` covers everything that changes behaviour.

    Obtain one with :func:`llmops_cli.load_prompt` or :meth:`llmops_cli.project.Project.load`.
    """

    name: str
    file: str
    spec: PromptSpec
    model: str  # resolved litellm model id
    alias: ModelAlias | None
    messages: list[MessageTemplate]
    partials: dict[str, str]  # include name -> text, transitively
    variables_used: set[str]
    engine: TemplateEngine = field(repr=False)
    version: str | None = None  # set when loaded from a release
    git_sha: str | None = None
    route: ModelRoute | None = None  # the model resolved through llmops.yaml (offline stand-in included)
    # request logging / OpenTelemetry set by load_prompt(log=..., otel=...); not part of the content hash
    serving: ServingOptions | None = field(default=None, repr=False, compare=False)
    _sha256: str | None = field(default=None, repr=False)
    # reads image/file/pdf inputs given as project paths (None: only bytes and https URLs are accepted)
    media: MediaReader | None = field(default=None, repr=False, compare=False)
    # How a channel load picked this copy (never part of the content hash): the channel asked for, and the arm
    # ("stable"/"canary") when that channel has a canary. Set on per-arm copies; cached prompts are never mutated.
    channel: str | None = None
    arm: str | None = None
    tools: list[ToolSpec] = field(default_factory=list)  # resolved: tool-file references included, in order
    _served: tuple[tuple[Any, ...], ServedPrompt] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.route is None:  # built without a config: the alias alone decides
            a = self.alias
            base, key_env = (a.api_base, a.api_key_env) if a else (None, None)
            self.route = ModelRoute(self.spec.model, self.model, base, key_env)

    @property
    def params(self) -> dict[str, Any]:
        """Alias default params overlaid with the prompt's own params."""
        merged = dict(self.alias.params) if self.alias else {}
        merged.update(self.spec.params)
        return merged

    @property
    def model_name(self) -> str:
        """The model as written in the prompt file (an alias or a litellm id)."""
        return self.spec.model

    @property
    def inputs(self) -> dict[str, Any]:
        return self.spec.inputs

    @property
    def tool_choice(self) -> ToolChoice | None:
        """The prompt file's ``tool_choice`` as the contract type (None: the provider's default)."""
        return tool_choice_record(self.spec.tool_choice)

    @property
    def parallel_tool_calls(self) -> bool | None:
        return self.spec.parallel_tool_calls

    def tool_fields(self) -> dict[str, Any]:
        """The prompt's tools, ``tool_choice`` and ``parallel_tool_calls`` as JSON, only those set."""
        return tool_call_fields(self.tools, self.tool_choice, self.parallel_tool_calls)

    def hash_payload(self) -> dict[str, Any]:
        """The behaviour-relevant content the hash covers (documented in the README): everything that decides
        what is sent, where, and with which key variable. ``call`` (the alias's ``api_base``, ``api_key_env``
        and ``offline`` stand-in) is present only when one of them is set."""
        payload: dict[str, Any] = {
            "model": self.model,
            "params": self.params,
            "inputs": {
                name: spec.model_dump(exclude={"description"}, exclude_unset=True)
                for name, spec in self.spec.inputs.items()
            },
            # ``strict`` only when asked for: prompts without it keep their hashes
            "output": self.spec.output.model_dump(
                by_alias=True, exclude=None if self.spec.output.strict else {"strict"}
            ),
            "messages": [
                {"role": m.role, "template": m.text, **({"attach": list(m.attach)} if m.attach else {})}
                for m in self.messages
            ],
            "partials": self.partials,
            **self.tool_fields(),
        }
        if self.spec.guards:  # only when declared: prompts without guards keep their hashes
            payload["guards"] = self.spec.guards
        call = self.route.hash_fields() if self.route else {}
        if call:
            payload["call"] = call
        return payload

    def legacy_sha256(self) -> str:
        """The content hash as llmops 0.1.0 computed it (without the call target), to recognise old releases."""
        payload = self.hash_payload()
        payload.pop("call", None)
        return sha256_of(payload)

    def call_fields(self) -> dict[str, Any]:
        """Everything that decides where a call goes, with which key variable and params — recorded in the
        release manifest and checked on load."""
        route = self.route
        return {
            "model": self.model,
            "api_base": route.api_base if route else None,
            "api_key_env": route.api_key_env if route else None,
            "params": self.params,
            "response_format": self.response_format,
            "offline": route.offline.describe() if route and route.offline else None,
            **self.tool_fields(),
        }

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = sha256_of(self.hash_payload())
        return self._sha256

    @property
    def response_format(self) -> dict[str, Any] | None:
        """The output format in OpenAI's request shape: None (text), ``json_object``, or — with ``output.strict`` —
        ``json_schema`` with the schema and ``strict: true`` (the model layer falls back to ``json_object`` for a
        model litellm says lacks response-schema support)."""
        out = self.spec.output
        if out.format != "json":
            return None
        if out.strict and out.schema_ is not None:
            return {"type": "json_schema", "json_schema": {"name": "output", "schema": out.schema_, "strict": True}}
        return {"type": "json_object"}

    @property
    def output_format(self) -> ResponseFormat | None:
        """The output format as the contract type :class:`~llmops_cli.records.chat.ResponseFormat` (None: text)."""
        out = self.spec.output
        if out.format != "json":
            return None
        if out.strict and out.schema_ is not None:
            return ResponseFormat(type="json_schema", schema_=out.schema_, strict=True)
        return ResponseFormat(type="json_object")

    def validate(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Variables with defaults applied; :class:`VariablesError` naming each offending one (an image, file
        or pdf input is read and checked too: type by magic bytes, size, pixel dimensions, confinement)."""
        return self._checked(variables)[0]

    def _checked(self, variables: dict[str, Any]) -> tuple[dict[str, Any], dict[str, ContentPart]]:
        full, problems = validate_variables(self.spec.inputs, variables)
        parts: dict[str, ContentPart] = {}
        if not problems:
            for name, part_or_problem in self._media(full).items():
                if isinstance(part_or_problem, str):
                    problems.append(f"`{name}`: {part_or_problem}")
                else:
                    parts[name] = part_or_problem
        if problems:
            raise VariablesError(
                f"invalid variables for prompt '{self.name}': " + "; ".join(problems),
                problems,
                file=self.file,
            )
        return full, parts

    def _media(self, variables: dict[str, Any]) -> dict[str, ContentPart | str]:
        """Each image/file/pdf input given a value: its checked content part, or why it is refused."""
        from .media.load import MediaProblem, MediaReader

        out: dict[str, ContentPart | str] = {}
        reader = self.media or MediaReader(None)
        for name, spec in self.spec.inputs.items():
            if spec.is_media and variables.get(name) is not None:
                try:
                    out[name] = reader.part(name, spec, variables[name])
                except MediaProblem as exc:
                    out[name] = str(exc)
        return out

    def render(self, variables: dict[str, Any] | None = None, /, **kwargs: Any) -> RenderedPrompt:
        r"""Validate variables against ``inputs`` and render every message in the sandbox; a message that
        ``attach``\es image/file/pdf inputs gets a list of content parts (its text, then one per input)."""
        given = {**(variables or {}), **kwargs}
        full, media = self._checked(given)
        messages: list[dict[str, Any]] = []
        for m in self.messages:
            content = self.engine.render(m.text, m.origin, full).strip()
            parts = [media[name] for name in m.attach if name in media]
            if parts:
                text = [ContentPart(type="text", text=content)] if content else []
                dumped = [p.model_dump(exclude_none=True) for p in [*text, *parts]]
                messages.append({"role": m.role, "content": dumped})
            else:
                messages.append({"role": m.role, "content": content})
        return RenderedPrompt(
            name=self.name,
            messages=messages,
            model=self.model,
            params=self.params,
            response_format=self.response_format,
            prompt_sha256=self.sha256,
            api_base=self.alias.api_base if self.alias else None,
            variables=full,
            tools=self.tools,
            tool_choice=self.tool_choice,
            parallel_tool_calls=self.parallel_tool_calls,
        )

    def target(self, *, api_base: str | None = None) -> Target:
        """Where a call of this prompt goes now (offline fallback applied); :class:`ProviderError` when a key
        it needs is not in the environment."""
        assert self.route is not None
        return choose_target(self.route, api_base_override=api_base)

    def with_serving(self, log: Any = None, otel: Any = None, guards: Any = None) -> Prompt:
        """This prompt with serving options (``load_prompt(log=, otel=, guards=)``): a copy — cached prompts are
        shared and never changed; itself when none is given."""
        from .serving.options import serving_options

        options = serving_options(log, otel, guards, file_guards=self.spec.guards, schema=self.spec.output.schema_)
        return self if options is None else replace(self, serving=options)

    def served(self) -> ServedPrompt:
        """This prompt as serving sees it: its identity in request records, how to render it, its target.
        Built once per prompt object and rebuilt when a field it copies was changed since."""
        key = (self.version, self.git_sha, self.channel, self.arm, id(self.serving), self._sha256)
        cached = self._served
        if cached is not None and cached[0] == key:
            return cached[1]
        from .serving.record import CallIdentity
        from .serving.served import ServedPrompt

        served = ServedPrompt(
            identity=CallIdentity(self.name, self.sha256, self.version, self.git_sha, self.channel, self.arm),
            file=self.file,
            model=self.model,
            params=self.params,
            output_schema=self.spec.output.schema_,
            guard_specs=tuple(self.spec.guards),
            options=self.serving,
            render=self.render,
            target=self.target,
        )
        self._served = ((*key[:-1], self._sha256), served)  # the hash is computed by now
        return served

    def complete(
        self,
        variables: dict[str, Any] | None = None,
        /,
        *,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
        log: Any = None,
        log_content: bool = False,
        retries: int | RetryPolicy | None = None,
        timeout: float | None = None,
        history: Sequence[ChatMessage | Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Completion:
        """Render, then call the model through the model layer; returns a :class:`~llmops_cli.serving.Completion`:
        ``.text``, ``.tool_calls`` (typed :class:`~llmops_cli.records.chat.ToolCall`), ``.message``, and every
        attribute of litellm's response object as before (``.choices``, ``.usage``, ``.model``).

        The call goes where the release says (model, ``api_base``, the alias's ``offline`` stand-in when the
        provider's key is not set, ``local/…`` models in-process). The key rule: a key is sent only to the
        provider's own endpoint or to an ``api_base`` whose alias names its ``api_key_env``; any other base URL
        gets a placeholder. litellm is imported on first use; error messages are redacted.

        Serving options (keyword-only; a prompt variable with one of these names goes in ``variables``):
        ``tags`` (str → str, ≤ 32) and ``request_id`` go in the request record; ``log`` (a path, a sink or
        False) overrides ``load_prompt(log=...)`` / ``$LLMOPS_LOG``; ``log_content`` adds the redacted
        messages and reply to the record; ``retries`` (default 2) retries 429/5xx/timeouts with back-off,
        counted in the record; ``timeout`` is the per-try timeout in seconds; ``history`` continues a
        conversation: the turns after the rendered messages (the assistant's tool calls, the tool results —
        ``Completion.with_tool_results()`` builds it), as ``ChatMessage`` objects or dicts in OpenAI's shape.
        One record is written per call, also when it raises (see :mod:`llmops_cli.serving`); it names the tools
        the model called (``tools_called``) and, with ``history``, the conversation's ``turn``.
        """
        from .serving.call import complete

        return complete(
            self.served(),
            {**(variables or {}), **kwargs},
            tags=tags,
            request_id=request_id,
            log=log,
            log_content=log_content,
            retries=retries,
            timeout=timeout,
            history=history,
        )

    async def acomplete(
        self,
        variables: dict[str, Any] | None = None,
        /,
        *,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
        log: Any = None,
        log_content: bool = False,
        retries: int | RetryPolicy | None = None,
        timeout: float | None = None,
        history: Sequence[ChatMessage | Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Completion:
        """:meth:`complete`, awaited (``litellm.acompletion``)."""
        from .serving.call import acomplete

        return await acomplete(
            self.served(),
            {**(variables or {}), **kwargs},
            tags=tags,
            request_id=request_id,
            log=log,
            log_content=log_content,
            retries=retries,
            timeout=timeout,
            history=history,
        )

    def feedback(
        self,
        request_id: str,
        /,
        *,
        score: float | None = None,
        label: str | None = None,
        comment: str | None = None,
        source: str | None = "app",
        log: Any = None,
    ) -> FeedbackRecord:
        """Record feedback on the served call ``request_id`` (the ``request_id`` of its request record: pass
        your own to :meth:`complete`, or read it from the log): ``score`` a number (+1/-1 thumbs, 1..5 stars),
        ``label`` a short category, ``comment`` free text (redacted, cleaned and clipped to 4,000 characters).
        The feedback record goes where this prompt's request records go (``log=``, ``load_prompt(log=...)`` or
        ``$LLMOPS_LOG``; nothing is written without one) and is returned. ``llmops usage report`` joins it to
        the call by request id. :class:`~llmops_cli.errors.UsageError` on a bad id, score or label."""
        from .serving.feedback import give_feedback

        return give_feedback(
            self.served(), request_id, score=score, label=label, comment=comment, source=source, log=log
        )
