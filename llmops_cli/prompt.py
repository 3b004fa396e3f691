"""A loaded prompt: validated spec, resolved templates, content hash, and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import VariablesError
from .hashing import sha256_of
from .spec import PromptSpec
from .templating import TemplateEngine, TemplateOrigin
from .variables import validate_variables

if TYPE_CHECKING:
    from .config import ModelAlias


@dataclass(frozen=True)
class MessageTemplate:
    """A message's role and template text, with where the text came from."""

    role: str
    text: str
    origin: TemplateOrigin
    template_file: str | None = None  # the .j2 file, when not inline


@dataclass(frozen=True)
class RenderedPrompt:
    """What a provider receives: chat messages, the resolved model and params."""

    name: str
    messages: list[dict[str, str]]
    model: str
    params: dict[str, Any]
    response_format: dict[str, Any] | None
    prompt_sha256: str
    api_base: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def request_hash(self) -> str:
        """Hash of everything sent to the provider (model, messages, params, response format)."""
        return sha256_of(
            {
                "model": self.model,
                "messages": self.messages,
                "params": self.params,
                "response_format": self.response_format,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "params": self.params,
            "response_format": self.response_format,
            "messages": self.messages,
            "prompt_sha256": self.prompt_sha256,
            "request_hash": self.request_hash,
        }


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
    _sha256: str | None = field(default=None, repr=False)

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

    def hash_payload(self) -> dict[str, Any]:
        """The behaviour-relevant content the hash covers (documented in the README)."""
        return {
            "model": self.model,
            "params": self.params,
            "inputs": {
                name: spec.model_dump(exclude={"description"}, exclude_unset=True)
                for name, spec in self.spec.inputs.items()
            },
            "output": self.spec.output.model_dump(by_alias=True),
            "messages": [{"role": m.role, "template": m.text} for m in self.messages],
            "partials": self.partials,
        }

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = sha256_of(self.hash_payload())
        return self._sha256

    @property
    def response_format(self) -> dict[str, Any] | None:
        if self.spec.output.format != "json":
            return None
        return {"type": "json_object"}

    def validate(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Variables with defaults applied; :class:`VariablesError` naming each offending one."""
        full, problems = validate_variables(self.spec.inputs, variables)
        if problems:
            raise VariablesError(
                f"invalid variables for prompt '{self.name}': " + "; ".join(problems),
                problems,
                file=self.file,
            )
        return full

    def render(self, variables: dict[str, Any] | None = None, /, **kwargs: Any) -> RenderedPrompt:
        """Validate variables against ``inputs`` and render every message in the sandbox."""
        given = {**(variables or {}), **kwargs}
        full = self.validate(given)
        messages = []
        for m in self.messages:
            content = self.engine.render(m.text, m.origin, full).strip()
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
        )

    def complete(self, variables: dict[str, Any] | None = None, /, **kwargs: Any) -> Any:
        """Render, then call the model: ``litellm.completion(model=…, messages=…, **params)``.

        litellm is imported on first use. ``api_base`` and the API key come from the model alias in
        ``llmops.yaml`` (``api_key_env`` names the environment variable; the key is never logged).
        Returns litellm's response object.
        """
        import os

        rendered = self.render(variables, **kwargs)
        call: dict[str, Any] = dict(rendered.params)
        if rendered.response_format:
            call["response_format"] = rendered.response_format
        if rendered.api_base:
            call["api_base"] = rendered.api_base
        if self.alias and self.alias.api_key_env and os.environ.get(self.alias.api_key_env):
            call["api_key"] = os.environ[self.alias.api_key_env]
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        return litellm.completion(model=rendered.model, messages=rendered.messages, **call)
