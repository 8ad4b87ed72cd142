"""Optional OpenTelemetry traces: a `promptha.publish` span around storing events and a
`promptha.attempt` span around each delivery attempt, linked through the W3C `traceparent`
stored with the event (events.traceparent), so publish and its attempts share one trace.

Off by default (PROMPTHA_WEBHOOKS_TRACING). Off, or on without `opentelemetry-api` installed,
`Tracing.enabled` is False and callers skip all of this behind that one attribute check. On, it
uses the globally configured tracer provider: exporters are set up the standard OpenTelemetry
way (the SDK and OTEL_* variables, `opentelemetry-instrument`); without one, spans are no-ops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from promptha_webhooks import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from promptha_webhooks.delivery.attempt import AttemptOutcome

logger = logging.getLogger(__name__)

TRACER_NAME = "promptha_webhooks"
PUBLISH_SPAN = "promptha.publish"
ATTEMPT_SPAN = "promptha.attempt"
TRACEPARENT = "traceparent"  # the W3C header name, the key the propagator reads and writes


class PublishSpan:
    """The running publish span and the traceparent to store with its events."""

    __slots__ = ("span", "traceparent")

    def __init__(self, span: Span, traceparent: str | None) -> None:
        self.span = span
        self.traceparent = traceparent

    def stored(self, deliveries: int) -> None:
        self.span.set_attribute("promptha.delivery_count", deliveries)


class Tracing:
    """Spans for publishes and attempts; built from Settings by whoever needs it."""

    __slots__ = ("_propagator", "_status", "_tracer", "enabled")

    def __init__(self, enabled: bool) -> None:
        self.enabled = False
        self._tracer: Any = None
        self._propagator: Any = None
        self._status: Any = None
        if not enabled:
            return
        try:
            from opentelemetry import trace
            from opentelemetry.trace.propagation.tracecontext import (
                TraceContextTextMapPropagator,
            )
        except ImportError:
            logger.warning(
                "PROMPTHA_WEBHOOKS_TRACING is on but opentelemetry-api is not installed "
                "(pip install 'promptha-webhooks[otel]'); tracing stays off"
            )
            return
        self._tracer = trace.get_tracer(TRACER_NAME, __version__)
        # W3C trace context whatever the process's global propagator: the stored column is
        # a traceparent, read back by another process (the dispatcher).
        self._propagator = TraceContextTextMapPropagator()
        self._status = trace.Status, trace.StatusCode
        self.enabled = True

    def _traceparent(self, context: Any = None) -> str | None:
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=context)
        return carrier.get(TRACEPARENT)

    def current_traceparent(self) -> str | None:
        """The caller's active span as a traceparent (None when off or no span is active)."""
        if not self.enabled:
            return None
        return self._traceparent()

    @contextmanager
    def publish(self, account_id: str, event_types: Sequence[str]) -> Iterator[PublishSpan]:
        """A `promptha.publish` span, child of the caller's span if one is active."""
        attributes: dict[str, str | int] = {
            "promptha.account_id": account_id,
            "promptha.event_count": len(event_types),
        }
        kinds = set(event_types)
        if len(kinds) == 1:
            attributes["promptha.event_type"] = event_types[0]
        with self._tracer.start_as_current_span(PUBLISH_SPAN, attributes=attributes) as span:
            yield PublishSpan(span, self._traceparent())

    @contextmanager
    def attempt(
        self,
        traceparent: str | None,
        *,
        delivery_id: str,
        event_id: str,
        webhook_id: str,
        number: int,
        trigger: str,
    ) -> Iterator[Span]:
        """A `promptha.attempt` span, child of the publish span whose traceparent is given
        (else of the caller's active span, if any). Finish it with `attempt_result`."""
        parent = None
        if traceparent is not None:
            parent = self._propagator.extract({TRACEPARENT: traceparent})
        attributes: dict[str, str | int] = {
            "promptha.delivery_id": delivery_id,
            "promptha.event_id": event_id,
            "promptha.webhook_id": webhook_id,
            "promptha.attempt": number,
            "promptha.trigger": trigger,
        }
        with self._tracer.start_as_current_span(
            ATTEMPT_SPAN, context=parent, attributes=attributes
        ) as span:
            yield span

    def record_attempt(self, span: Span, record: AttemptOutcome) -> None:
        """The attempt's HTTP status and outcome on its span; error status unless delivered."""
        code = record.attempt.response_status if record.attempt is not None else None
        if code is not None:
            span.set_attribute("http.response.status_code", code)
        span.set_attribute("promptha.outcome", record.outcome.value)
        span.set_attribute("promptha.delivery_status", record.status)
        status, status_code = self._status
        if record.outcome.value == "delivered":
            span.set_status(status(status_code.OK))
        else:
            error = record.update.last_error or record.outcome.value
            span.set_status(status(status_code.ERROR, error))


# The OpenTelemetry API's stand-ins until a provider is set (the API has no public "is one
# set up?" query; FastAPI's telemetry tells them apart the same way).
_PROVIDER_STAND_INS = frozenset(
    {
        ("opentelemetry.trace", "ProxyTracerProvider"),
        ("opentelemetry.metrics._internal", "_ProxyMeterProvider"),
        ("opentelemetry._logs._internal", "ProxyLoggerProvider"),
    }
)


def opentelemetry_configured() -> bool:
    """Whether a global tracer, meter or logger provider is set up in this process (False
    without `opentelemetry-api`)."""
    try:
        from opentelemetry import _logs, metrics, trace
    except ImportError:
        return False
    providers = (
        trace.get_tracer_provider(),
        metrics.get_meter_provider(),
        _logs.get_logger_provider(),
    )
    return any((type(p).__module__, type(p).__name__) not in _PROVIDER_STAND_INS for p in providers)
