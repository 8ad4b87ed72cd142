"""A write that breaks a constraint the database enforces (a foreign key to a row deleted
meanwhile) is the request's conflict with the current state: 409, never the 503 of an
unavailable database, which clients retry for ever. Translated in one place
(Database.transaction), on both backends."""

from __future__ import annotations

import pytest

from promptha_webhooks.errors import ConstraintViolationError
from promptha_webhooks.store.webhooks import NewWebhook

from support import Service


async def test_a_foreign_key_violation_is_a_conflict_not_an_outage(service: Service) -> None:
    services = service.app.state.services
    with pytest.raises(ConstraintViolationError) as raised:
        async with services.db.transaction() as conn:
            new = NewWebhook(
                id="wh_01JDQ3W6Z5K1V8R4T2N9M0B7XC",
                account_id="acct_01JDQ3W6Z5K1V8R4T2N9M0B7XC",
                url="http://127.0.0.1:9/hook",
                events=["fabric.completed"],
                filters=None,
                secret="whsec_0123456789abcdef",
                description="",
                enabled=True,
            )
            await services.store.webhooks.insert(conn, new, 0)
    assert raised.value.status_code == 409
    assert raised.value.error_type == "conflict"
