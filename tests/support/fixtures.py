"""Pytest fixtures for :mod:`tests.support.fakellm`; import them into a conftest or test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.fakellm import FakeLLM


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A started :class:`FakeLLM` with default settings, stopped after the test."""
    with FakeLLM() as server:
        yield server


@pytest.fixture
def fake_llm_factory() -> Iterator[Callable[..., FakeLLM]]:
    """Start servers with custom settings, e.g. ``fake_llm_factory(latency=0.2)``; stopped after the test."""
    servers: list[FakeLLM] = []

    def make(*args: Any, **kwargs: Any) -> FakeLLM:
        server = FakeLLM(*args, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
