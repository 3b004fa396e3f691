"""OpenTelemetry for serving calls (llmops_cli/serving/otel.py): GenAI semantic-convention spans and metrics,
captured by the SDK's InMemorySpanExporter and InMemoryMetricReader from real calls to the loopback server;
and OpenTelemetry stays unimported unless it is enabled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.releases.loader import load_prompt
from llmops_cli.serving import OtelOptions, RetryPolicy, file_sink
from tests.conftest import REPO_ROOT
from tests.support.fakellm import FakeLLM, Fault
from tests.support.servingproj import read_records, serving_project

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.options = OtelOptions(self.tracer_provider, self.meter_provider)

    def spans(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def unit(self, name: str) -> str:
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        return str(metric.unit)
        raise AssertionError(name)


@pytest.fixture
def otel() -> Telemetry:
    return Telemetry()


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    return serving_project(tmp_path / "proj", fake_llm.url)


def test_a_call_is_a_genai_span_with_metrics(project: Path, fake_llm: FakeLLM, otel: Telemetry, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    fake_llm.default_reply = "three words here"
    p = load_prompt("support/answer", root=project, log=log, otel=otel.options)
    p.complete(question="hi there", tags={"tenant": "acme"})
    file_sink(log).flush()
    [rec] = read_records(log)
    [span] = otel.spans()
    assert span.name == "chat fake-model" and span.kind == SpanKind.CLIENT
    a = dict(span.attributes)
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == a["gen_ai.system"] == "openai"
    assert a["gen_ai.request.model"] == "fake-model" and a["gen_ai.response.model"] == "fake-model"
    assert (a["gen_ai.request.max_tokens"], a["gen_ai.request.temperature"]) == (20, 0.1)
    assert a["gen_ai.usage.input_tokens"] == rec["tokens_in"] and a["gen_ai.usage.output_tokens"] == 3
    assert a["gen_ai.response.finish_reasons"] == ("stop",) and a["gen_ai.response.id"].startswith("chatcmpl-fake")
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == fake_llm.port
    assert a["llmops.prompt.name"] == "support/answer" and a["llmops.prompt.sha256"] == p.sha256
    assert "llmops.prompt.version" not in a and "llmops.prompt.channel" not in a  # None: not set
    assert a["llmops.request_id"] == rec["request_id"] and a["llmops.retries"] == 0
    assert a["llmops.tag.tenant"] == "acme" and "llmops.cost_usd" not in a and "error.type" not in a
    assert span.status.status_code == StatusCode.UNSET
    assert (span.end_time - span.start_time) / 1e6 == pytest.approx(rec["latency_ms"], abs=50)

    usage = {dict(pt.attributes)["gen_ai.token.type"]: pt for pt in otel.points("gen_ai.client.token.usage")}
    assert usage["input"].sum == rec["tokens_in"] and usage["output"].sum == 3
    assert usage["input"].explicit_bounds[:3] == (1, 4, 16)
    attrs = dict(usage["input"].attributes)
    assert attrs["gen_ai.request.model"] == "fake-model" and attrs["llmops.prompt.name"] == "support/answer"
    assert "llmops.tag.tenant" not in attrs and "llmops.request_id" not in attrs  # bounded cardinality
    [duration] = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.sum == pytest.approx(rec["latency_ms"] / 1000, rel=0.01)
    assert otel.unit("gen_ai.client.operation.duration") == "s"
    assert otel.unit("gen_ai.client.token.usage") == "{token}"


def test_channel_and_arm_on_spans_and_metrics(project: Path, otel: Telemetry) -> None:
    p = load_prompt("support/answer", root=project, otel=otel.options)
    p.channel, p.arm = "production", "stable"  # type: ignore[attr-defined]
    p.complete(question="hi")
    [span] = otel.spans()
    assert (span.attributes["llmops.prompt.channel"], span.attributes["llmops.prompt.arm"]) == ("production", "stable")
    [duration] = otel.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes)["llmops.prompt.arm"] == "stable"


def test_errors_and_retries_on_the_span(project: Path, fake_llm: FakeLLM, otel: Telemetry) -> None:
    p = load_prompt("support/answer", root=project, otel=otel.options)
    fake_llm.enqueue(Fault.server_error(), "ok")
    p.complete(question="a", retries=RetryPolicy(2, base_s=0.005, max_s=0.05))
    fake_llm.enqueue(Fault.rate_limit(0.01))
    with pytest.raises(Exception, match="Rate limit"):
        p.complete(question="b", retries=0)
    ok, failed = otel.spans()
    assert ok.attributes["llmops.retries"] == 1 and ok.status.status_code == StatusCode.UNSET
    assert failed.status.status_code == StatusCode.ERROR and failed.attributes["error.type"] == "RateLimitError"
    assert "Rate limit" not in (failed.status.description or "") and not failed.events  # class name only
    assert "gen_ai.usage.input_tokens" not in failed.attributes
    durations = {
        dict(pt.attributes).get("error.type"): pt.count for pt in otel.points("gen_ai.client.operation.duration")
    }
    assert durations == {None: 1, "RateLimitError": 1}
    assert sum(pt.count for pt in otel.points("gen_ai.client.token.usage")) == 2  # the ok call: input + output


def test_a_call_that_fails_before_the_request_is_a_span_too(project: Path, fake_llm: FakeLLM, otel: Telemetry) -> None:
    from llmops_cli.errors import VariablesError

    p = load_prompt("support/answer", root=project, otel=otel.options)
    with pytest.raises(VariablesError):
        p.complete(questoin="typo")
    [span] = otel.spans()
    assert span.attributes["error.type"] == "VariablesError" and span.status.status_code == StatusCode.ERROR
    assert fake_llm.count == 0


def test_the_span_nests_under_the_applications_span(project: Path, otel: Telemetry) -> None:
    import asyncio

    p = load_prompt("support/answer", root=project, otel=otel.options)
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("POST /answer") as parent:
        p.complete(question="sync")

        async def both() -> None:
            await asyncio.gather(p.acomplete(question="x"), p.acomplete(question="y"))

        asyncio.run(both())
        assert trace.get_current_span() is parent  # our span was detached again
    spans = otel.spans()
    children = [s for s in spans if s.name.startswith("chat ")]
    assert len(children) == 3
    assert all(s.parent is not None and s.parent.span_id == parent.get_span_context().span_id for s in children)


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("LLMOPS_OTEL", "LLMOPS_LOG")}
    full.update(PYTHONPATH=str(REPO_ROOT), **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)


def test_opentelemetry_is_not_imported_unless_enabled(project: Path, tmp_path: Path) -> None:
    code = (
        "import sys, llmops_cli\n"
        "from llmops_cli import load_prompt\n"
        f"p = load_prompt('support/answer', root={str(project)!r}, log={str(tmp_path / 'a.jsonl')!r})\n"
        "p.complete(question='hi')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('opentelemetry'))))\n"
    )
    proc = _run("import json\n" + code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    proc = _run("import json\n" + code.replace(", log=", ", otel=True, log="))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "opentelemetry.trace" in json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_serving_package_is_light() -> None:
    proc = _run(
        "import json, sys, llmops_cli.serving; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(json.loads(proc.stdout.strip()))
    assert not loaded & {"litellm", "typer", "rich", "opentelemetry", "openai", "httpx"}


def test_env_enables_otel_with_the_global_providers(project: Path) -> None:
    code = (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "exporter = InMemorySpanExporter(); tp = TracerProvider()\n"
        "tp.add_span_processor(SimpleSpanProcessor(exporter)); trace.set_tracer_provider(tp)\n"
        "from llmops_cli import load_prompt\n"
        f"p = load_prompt('support/answer', root={str(project)!r})\n"
        "p.complete(question='hi')\n"
        "load_prompt('support/answer', root=" + repr(str(project)) + ", otel=False).complete(question='off')\n"
        "print([s.name for s in exporter.get_finished_spans()])\n"
    )
    proc = _run(code, LLMOPS_OTEL="1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "['chat fake-model']"


def test_otel_true_without_the_extra_is_a_usage_error(project: Path) -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from llmops_cli import load_prompt, UsageError\n"
        "try:\n"
        f"    load_prompt('support/answer', root={str(project)!r}, otel=True)\n"
        "except UsageError as e:\n"
        "    print('usage:', e)\n"
        "import os; os.environ['LLMOPS_OTEL'] = '1'\n"
        f"print(load_prompt('support/answer', root={str(project)!r}).complete(question='hi').choices[0].message.content)\n"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout.strip().splitlines()
    assert out[0].startswith("usage: otel=True needs OpenTelemetry") and "llmops-cli[otel]" in out[0]
    assert out[-1]  # the env var alone never breaks a call: a warning, and no spans
    assert "OpenTelemetry is not installed" in proc.stderr
