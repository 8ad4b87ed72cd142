"""Optional OpenTelemetry traces (PROMPTHA_WEBHOOKS_TRACING): a `promptha.publish` span and one
`promptha.attempt` span per attempt in the same trace, linked by events.traceparent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sqlalchemy import select

from promptha_webhooks.store.database import create_database
from promptha_webhooks.store.tables import events

from support import TEST_KEY_RING, Receiver, Service, ServiceFactory

PAYLOAD = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    """The process's global tracer provider (it can be set only once), exporting to memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.fixture
def spans(span_exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    span_exporter.clear()
    yield span_exporter
    span_exporter.clear()


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def ours(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    """The service's spans (FastAPI also makes its own request spans with the provider)."""
    return [
        s
        for s in exporter.get_finished_spans()
        if s.instrumentation_scope is not None
        and s.instrumentation_scope.name == "promptha_webhooks"
    ]


def traceparent_of(span: ReadableSpan) -> str:
    assert span.context is not None
    context = span.context
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


async def stored_traceparents(service: Service) -> dict[str, str | None]:
    database = create_database(service.settings.database_url, TEST_KEY_RING)
    try:
        async with database.transaction() as conn:
            rows = await conn.execute(select(events.c.id, events.c.traceparent))
            return {row.id: row.traceparent for row in rows}
    finally:
        await database.dispose()


async def setup(
    make_service: ServiceFactory, receiver: Receiver, path: str, **settings: Any
) -> tuple[Service, str, dict[str, str], dict[str, Any]]:
    service = await make_service(**settings)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(auth, url=receiver.url(path))
    return service, account_id, auth, webhook


def assert_child_of(attempt: ReadableSpan, publish: ReadableSpan) -> None:
    assert attempt.context is not None and publish.context is not None
    assert attempt.context.trace_id == publish.context.trace_id
    assert attempt.parent is not None
    assert attempt.parent.span_id == publish.context.span_id


async def test_publish_and_attempt_share_a_trace(
    make_service: ServiceFactory, receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    service, account_id, auth, webhook = await setup(make_service, receiver, "/ok", tracing=True)
    event = await service.publish(account_id, "fabric.completed", PAYLOAD)
    [delivery] = await service.wait_delivery(auth, webhook["id"], status="delivered")

    [publish] = named(spans, "promptha.publish")
    [attempt] = named(spans, "promptha.attempt")
    assert publish.attributes is not None and attempt.attributes is not None
    assert dict(publish.attributes) == {
        "promptha.account_id": account_id,
        "promptha.event_count": 1,
        "promptha.event_type": "fabric.completed",
        "promptha.delivery_count": 1,
    }
    assert_child_of(attempt, publish)
    # The caller's span (FastAPI's own endpoint span, in its request's trace) is the parent.
    [request_span] = named(spans, "POST /v1/events")
    assert request_span.context is not None and publish.parent is not None
    assert publish.context.trace_id == request_span.context.trace_id
    [endpoint_span] = [
        s
        for s in named(spans, "fastapi.endpoint")
        if s.context is not None and s.context.trace_id == request_span.context.trace_id
    ]
    assert publish.parent.span_id == endpoint_span.context.span_id  # type: ignore[union-attr]
    assert dict(attempt.attributes) == {
        "promptha.delivery_id": delivery["id"],
        "promptha.event_id": event["id"],
        "promptha.webhook_id": webhook["id"],
        "promptha.attempt": 1,
        "promptha.trigger": "scheduled",
        "http.response.status_code": 200,
        "promptha.outcome": "delivered",
        "promptha.delivery_status": "delivered",
    }
    assert attempt.status.status_code is StatusCode.OK
    assert await stored_traceparents(service) == {event["id"]: traceparent_of(publish)}
    # The wire is unchanged: no trace headers on deliveries.
    [request] = receiver.on("/ok")
    assert not {"traceparent", "tracestate"} & {h.lower() for h in request.headers}


async def test_failing_receiver_gives_error_spans(
    make_service: ServiceFactory, receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    receiver.script("/down", [500])
    service, account_id, auth, webhook = await setup(
        make_service, receiver, "/down", tracing=True, retry_schedule_s=(0.0, 0.05, 0.05)
    )
    await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="failed")

    [publish] = named(spans, "promptha.publish")
    attempts = sorted(named(spans, "promptha.attempt"), key=lambda s: s.start_time or 0)
    assert len(attempts) == 3
    for number, attempt in enumerate(attempts, start=1):
        assert_child_of(attempt, publish)
        assert attempt.attributes is not None
        assert attempt.attributes["promptha.attempt"] == number
        assert attempt.attributes["http.response.status_code"] == 500
        assert attempt.attributes["promptha.outcome"] == "retry"
        assert attempt.status.status_code is StatusCode.ERROR
        assert attempt.status.description == "HTTP 500"
    assert [a.attributes["promptha.delivery_status"] for a in attempts if a.attributes] == [
        "pending",
        "pending",
        "failed",
    ]


async def test_tracing_off_records_nothing(
    make_service: ServiceFactory, receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    service, account_id, auth, webhook = await setup(make_service, receiver, "/off")
    assert service.settings.tracing is False
    event = await service.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="delivered")
    assert named(spans, "POST /v1/events") != []  # the provider is there, FastAPI uses it
    assert ours(spans) == []
    assert await stored_traceparents(service) == {event["id"]: None}


async def test_batch_stores_the_traceparent_on_every_event(
    make_service: ServiceFactory, receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    service = await make_service(tracing=True)
    account_id, auth = await service.create_account()
    webhook = await service.create_webhook(
        auth, url=receiver.url("/batch"), events=["credits.low", "fabric.completed"]
    )
    batch = [
        {"event": "credits.low", "data": {"remaining": i, "threshold": 500, "userId": f"u{i}"}}
        for i in range(5)
    ] + [{"event": "fabric.completed", "data": PAYLOAD}]
    response = await service.client.post(
        "/v1/events/batch", json={"account": account_id, "events": batch}, headers=service.admin()
    )
    assert response.status_code == 201, response.text
    event_ids = {e["id"] for e in response.json()["data"]}
    await service.wait_delivery(auth, webhook["id"], status="delivered", count=6)

    [publish] = named(spans, "promptha.publish")
    assert publish.attributes is not None
    assert publish.attributes["promptha.event_count"] == 6
    assert "promptha.event_type" not in publish.attributes  # two types: none named
    assert await stored_traceparents(service) == dict.fromkeys(event_ids, traceparent_of(publish))
    attempts = named(spans, "promptha.attempt")
    assert len(attempts) == 6
    for attempt in attempts:
        assert_child_of(attempt, publish)


async def test_caller_span_is_the_parent_of_publish(
    make_service: ServiceFactory, receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    service, account_id, auth, webhook = await setup(make_service, receiver, "/c", tracing=True)
    services = service.app.state.services
    with trace.get_tracer("test").start_as_current_span("caller") as caller:
        await services.publish(account_id, "fabric.completed", PAYLOAD)
    await service.wait_delivery(auth, webhook["id"], status="delivered")
    [publish] = named(spans, "promptha.publish")
    [attempt] = named(spans, "promptha.attempt")
    assert publish.parent is not None
    assert publish.parent.span_id == caller.get_span_context().span_id
    assert publish.context is not None
    assert publish.context.trace_id == caller.get_span_context().trace_id
    assert_child_of(attempt, publish)


async def test_test_events_and_resends_get_attempt_spans(
    make_service: ServiceFactory, receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    service, account_id, auth, webhook = await setup(make_service, receiver, "/r", tracing=True)
    response = await service.client.post(
        "/v1/webhooks/test",
        json={"webhookId": webhook["id"], "event": "fabric.completed", "data": PAYLOAD},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    [test_attempt] = named(spans, "promptha.attempt")
    assert test_attempt.attributes is not None
    assert test_attempt.attributes["promptha.trigger"] == "test"
    assert test_attempt.attributes["promptha.delivery_id"] == response.json()["delivery"]["id"]
    # No publish: the test event stores the caller's span (the API request's), its parent.
    assert named(spans, "promptha.publish") == []
    [request_span] = named(spans, "POST /v1/webhooks/test")
    assert test_attempt.parent is not None and test_attempt.context is not None
    assert test_attempt.context.trace_id == request_span.context.trace_id  # type: ignore[union-attr]
    stored = await stored_traceparents(service)
    assert stored[response.json()["event"]["id"]] == (
        f"00-{test_attempt.parent.trace_id:032x}-{test_attempt.parent.span_id:016x}-"
        f"{test_attempt.parent.trace_flags:02x}"
    )

    spans.clear()
    event = await service.publish(account_id, "fabric.completed", PAYLOAD)
    delivered = await service.wait_delivery(auth, webhook["id"], status="delivered", count=2)
    [delivery] = [d for d in delivered if d["eventId"] == event["id"]]
    resent = await service.client.post(f"/v1/deliveries/{delivery['id']}/retry", headers=auth)
    assert resent.status_code == 200, resent.text
    [publish] = named(spans, "promptha.publish")
    scheduled, manual = sorted(named(spans, "promptha.attempt"), key=lambda s: s.start_time or 0)
    assert manual.attributes is not None
    assert manual.attributes["promptha.trigger"] == "manual"
    assert manual.attributes["promptha.attempt"] == 2
    assert_child_of(scheduled, publish)
    assert_child_of(manual, publish)


async def test_upstream_traceparent_header_starts_the_trace(
    make_service: ServiceFactory, receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    upstream_trace, upstream_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    service, account_id, auth, webhook = await setup(make_service, receiver, "/up", tracing=True)
    await service.publish(
        account_id,
        "fabric.completed",
        PAYLOAD,
        traceparent=f"00-{upstream_trace}-{upstream_span}-01",
    )
    await service.wait_delivery(auth, webhook["id"], status="delivered")
    [request_span] = named(spans, "POST /v1/events")
    [publish] = named(spans, "promptha.publish")
    [attempt] = named(spans, "promptha.attempt")
    assert request_span.parent is not None
    assert f"{request_span.parent.span_id:016x}" == upstream_span
    assert publish.context is not None
    assert f"{publish.context.trace_id:032x}" == upstream_trace
    assert_child_of(attempt, publish)
