"""The whole OpenAPI schema fuzzed by schemathesis, on SQLite and PostgreSQL: no request it
makes may be answered with a 5xx, and every documented answer must match its schema.

Bounded and reproducible: a fixed number of examples per operation, derandomised, no example
database. Requests go to the app in-process (ASGI); the service runs in development mode with
a `resolve` that resolves no name, so no delivery leaves this machine (the seeded webhook
points at a receiver on 127.0.0.1). Path parameters are the seeded account's real ids half
of the time, so request bodies reach the checks behind the ids.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi

from promptha_webhooks.api import create_app
from promptha_webhooks.config import Mode, Settings
from promptha_webhooks.store.database import migrate_sync

from support import ADMIN_KEY, FAST_SCHEDULE, PG_HOST, TEST_KEY_RING, pg_admin, require_postgres

EXAMPLES_PER_OPERATION = 100
SEED = 18
REQUEST_TIMEOUT_S = 10
COMPLETED = {"executionId": "e", "fabricId": "f", "result": 1, "usage": {}}


async def resolve_nothing(host: str, _port: int) -> list[str]:
    raise OSError(f"{host}: name not known (the fuzzed service resolves no name)")


def service_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        mode=Mode.DEVELOPMENT,
        admin_key=ADMIN_KEY,
        retry_schedule_s=FAST_SCHEDULE,
        poll_interval_s=0.05,
        shutdown_grace_s=2.0,
        encryption_keys=TEST_KEY_RING,
    )


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
        "phases": {"stateful": {"enabled": False}},
        "request-timeout": REQUEST_TIMEOUT_S,
        # The listen stream stays open until the client goes; cut off by the test client, its
        # session's cleanup would outlive the app. Its parameters are in the hostile-input
        # table (test_bad_input.py), the stream in tests/e2e/test_listen_stream.py.
        "operations": [{"include-name": "GET /v1/listen", "enabled": False}],
    }
)
# The document only: the app built here never starts (no database is opened).
schema = schemathesis.openapi.from_dict(
    create_app(service_settings("sqlite:///unused.db")).openapi(), config=CONFIG
)


@dataclass
class Target:
    """The running app of one backend and the seeded account's key and ids."""

    app: Any
    account_key: str
    ids: dict[str, str]


TARGETS: list[Target] = []  # the one running now (read by the path parameter hook)


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """The generated ids, or the seeded account's real ones (never for DELETE: the account,
    its key and its webhook must outlive the run)."""
    if not TARGETS or not path_parameters or context.operation.method.upper() == "DELETE":
        return st.just(path_parameters)
    real = {name: TARGETS[-1].ids.get(name, value) for name, value in path_parameters.items()}
    return st.sampled_from([path_parameters, real])


class _Answer200(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def local_receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer200)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, local_receiver: str
) -> Iterator[Target]:
    """A fresh database of the backend, the app on it, and a seeded account."""
    database = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'promptha.db'}"
    else:
        require_postgres()
        database = f"pw_fuzz_{secrets.token_hex(6)}"
        pg_admin(f'CREATE DATABASE "{database}"')
        url = f"postgresql://postgres@{PG_HOST}:5432/{database}"
    try:
        migrate_sync(url)
        app = create_app(service_settings(url), resolve=resolve_nothing)
        with asgi.get_client(app) as client:
            TARGETS.append(seed(client, local_receiver, app))
        yield TARGETS[-1]
    finally:
        TARGETS.clear()
        asgi.shutdown_lifespans()
        if database is not None:
            pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def seed(client: Any, receiver_url: str, app: Any) -> Target:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = client.post("/v1/accounts", json={"name": "Fuzz"}, headers=admin).json()
    key = created["apiKey"]["key"]
    auth = {"Authorization": f"Bearer {key}"}
    webhook = client.post(
        "/v1/webhooks", json={"url": receiver_url, "events": ["fabric.completed"]}, headers=auth
    ).json()
    event = client.post(
        "/v1/events", json={"event": "fabric.completed", "data": COMPLETED}, headers=auth
    ).json()
    deliveries = client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth).json()
    ids = {
        "account_id": created["account"]["id"],
        "key_id": created["apiKey"]["id"],
        "webhook_id": webhook["id"],
        "event_id": event["id"],
        "delivery_id": deliveries["data"][0]["id"],
    }
    return Target(app, key, ids)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_is_answered_with_a_server_error(case: Any, target: Target) -> None:
    key = ADMIN_KEY if case.path.startswith("/v1/accounts") else target.account_key
    case.call_and_validate(
        app=target.app,
        headers={"Authorization": f"Bearer {key}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
