"""PROMPTHA_WEBHOOKS_TRACING and the tracing wrapper's off switches (no provider needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from promptha_webhooks.config import ConfigError, Settings
from promptha_webhooks.tracing import Tracing

P = "PROMPTHA_WEBHOOKS_"


def test_tracing_is_off_by_default() -> None:
    assert Settings.from_env({}).tracing is False
    tracing = Tracing(Settings.from_env({}).tracing)
    assert tracing.enabled is False
    assert tracing.current_traceparent() is None


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("on", True), ("false", False)])
def test_tracing_from_env(value: str, expected: bool) -> None:
    assert Settings.from_env({P + "TRACING": value}).tracing is expected


def test_tracing_rejects_other_values() -> None:
    with pytest.raises(ConfigError, match="TRACING"):
        Settings.from_env({P + "TRACING": "sometimes"})


def test_tracing_on_without_opentelemetry_stays_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert Tracing(True).enabled is True
    # A None entry makes `import opentelemetry` raise ImportError, as when not installed.
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    tracing = Tracing(True)
    assert tracing.enabled is False
    assert tracing.current_traceparent() is None
    assert "opentelemetry-api is not installed" in caplog.text


OTEL_CHILD = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from promptha_webhooks.tracing import opentelemetry_configured

before = opentelemetry_configured()
trace.set_tracer_provider(TracerProvider())
print(json.dumps([before, opentelemetry_configured()]))
"""


def test_opentelemetry_configured_sees_a_provider_being_set_up() -> None:
    """Decides whether FastAPI's own request telemetry stays on (api/app.py). In a child
    interpreter: a global provider can be set only once per process."""
    out = subprocess.run(
        [sys.executable, "-c", OTEL_CHILD], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [False, True]
