"""FastAPI's native OpenTelemetry is off: no span is started for a request even when a
tracer provider is configured (clinical data and anything about them stay on the machine)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace

from web.service_world import World


class _RecordingProvider(trace.TracerProvider):
    """A configured tracer provider that records every tracer asked of it."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_tracer(self, instrumenting_module_name: str, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(instrumenting_module_name)
        return trace.NoOpTracer()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> _RecordingProvider:
    recording = _RecordingProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: recording)
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    return recording


def test_a_plain_fastapi_app_would_trace_requests(provider: _RecordingProvider) -> None:
    """The control: FastAPI's default traces a request once a provider is configured."""
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(app) as client:
        assert client.get("/ping").status_code == 200
    assert provider.asked


def test_bordin_starts_no_span(world: World, provider: _RecordingProvider) -> None:
    client = world.anonymous()
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/forms/not-a-token").status_code == 404
    assert provider.asked == []
