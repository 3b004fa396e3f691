"""The one place litellm is imported and set up, and the request every provider call sends.

litellm is imported on first need (``import_litellm``), with the bundled cost map (no network:
``LITELLM_LOCAL_MODEL_COST_MAP=True``), its debug output and telemetry off, and llmops' custom providers
(``local/…``) registered. Eval generations, judges, ``prompt diff --cost`` and ``Prompt.complete()`` /
``Prompt.acomplete()`` all import litellm here; the calls themselves are made by :mod:`.call`, the request
built by :mod:`.wire`.
"""

from __future__ import annotations

import contextlib
import io
import threading
from typing import Any

from .. import settings

_LITELLM: Any = None
_LOCK = threading.Lock()

# Request options that decide where a call goes, with which credentials, or whether it is made at all. They come
# only from the target (the alias in llmops.yaml), never from params (which prompt files set): any such key in
# params is dropped here, whatever the parser let through.
ROUTING_KEYS = frozenset(
    {
        "api_key", "api_base", "base_url", "api_version", "organization", "custom_llm_provider",
        "extra_headers", "headers", "extra_body", "extra_query", "mock_response", "mock_tool_calls",
        "azure_ad_token", "azure_ad_token_provider", "aws_access_key_id", "aws_secret_access_key",
        "aws_session_token", "vertex_credentials", "callbacks", "success_callback", "failure_callback",
        "input_callback", "litellm_logging_obj", "model_list", "proxy_server_request", "client",
    }
)  # fmt: skip


def import_litellm() -> Any:
    """litellm, imported once with the local cost map (no network) and the custom providers registered."""
    global _LITELLM
    if _LITELLM is not None:
        return _LITELLM
    with _LOCK:
        if _LITELLM is None:
            settings.LITELLM_LOCAL_MODEL_COST_MAP.set_default("True")
            with contextlib.redirect_stdout(io.StringIO()):
                import litellm

            with contextlib.suppress(ImportError):  # the OpenAI SDK imports these on its first call (~1 s): now
                import openai.resources  # noqa: F401
            litellm.suppress_debug_info = True
            litellm.telemetry = False
            from ..providers import register_custom_providers

            register_custom_providers(litellm)
            _LITELLM = litellm
    return _LITELLM
