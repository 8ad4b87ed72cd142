"""`alert_contacts.get` and `alert_contacts.set` through both clients, on both backends: an
account's own contacts, the admin key naming the account, and refusals as typed errors."""

from __future__ import annotations

import pytest
from client_support import BACKENDS, FAST_RETRIES, RunningApi, either_client, shared_api

from promptha_webhooks.client import Client, InvalidRequestError, NotFoundError


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, request.param)


@pytest.mark.parametrize("kind", ["blocking", "async"])
async def test_get_and_set(api: RunningApi, kind: str) -> None:
    account_id, key = api.new_account()
    other_id, other_key = api.new_account("Other")
    with Client(key, api.url, retry=FAST_RETRIES) as setup:
        hook = setup.webhooks.create("http://127.0.0.1:9/alerts", ["fabric.completed"])
    with Client(other_key, api.url, retry=FAST_RETRIES) as other:
        theirs = other.webhooks.create("http://127.0.0.1:9/theirs", ["fabric.completed"])
    async with either_client(kind, key, api.url, FAST_RETRIES) as run:
        empty = await run(lambda c: c.alert_contacts.get())
        assert empty.account_id == account_id and empty.emails == [] and empty.webhook_id is None
        saved = await run(
            lambda c: c.alert_contacts.set(
                ["ops@acme.example", "OPS@acme.example"], webhook_id=hook.id
            )
        )
        assert saved.emails == ["ops@acme.example"] and saved.webhook_id == hook.id
        assert await run(lambda c: c.alert_contacts.get()) == saved
        with pytest.raises(NotFoundError):
            await run(lambda c: c.alert_contacts.set([], webhook_id=theirs.id))
        with pytest.raises(InvalidRequestError) as raised:
            await run(lambda c: c.alert_contacts.set(["nope"]))
        assert raised.value.field == "emails[0]"
        with pytest.raises(NotFoundError):
            await run(lambda c: c.alert_contacts.get(account=other_id))
        assert await run(lambda c: c.alert_contacts.get()) == saved
    with api.admin() as admin:
        by_admin = admin.alert_contacts.set(["b@other.example"], account=other_id)
        assert by_admin.account_id == other_id
        assert admin.alert_contacts.get(account=other_id).emails == ["b@other.example"]
        assert admin.alert_contacts.get(account=account_id) == saved
