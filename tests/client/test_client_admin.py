"""Accounts and API keys (admin calls) through the sync client, on both backends."""

from __future__ import annotations

import pytest
from client_support import BACKENDS, FAST_RETRIES, RunningApi, shared_api

from promptha_webhooks.client import (
    AuthenticationError,
    Client,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest) -> RunningApi:
    return shared_api(request, request.param)


def test_accounts(api: RunningApi) -> None:
    with api.admin() as admin:
        created = [admin.accounts.create(f"Account {n}") for n in range(3)]
        ids = [c.account.id for c in created]
        assert all(c.api_key.key and c.api_key.key.startswith("pwk_") for c in created)
        assert admin.accounts.get(ids[0]).name == "Account 0"
        listed = [a.id for a in admin.accounts.list_all(page_size=2)]
        assert listed[:3] == ids[::-1]
        assert admin.accounts.list(limit=1).has_more
        admin.accounts.delete(ids[1])
        with pytest.raises(NotFoundError):
            admin.accounts.get(ids[1])
        assert ids[1] not in [a.id for a in admin.accounts.list_all()]


def test_keys_create_list_revoke(api: RunningApi) -> None:
    account_id, first_key = api.new_account()
    with api.admin() as admin:
        second = admin.keys.create(account_id)
        assert second.key is not None and second.account_id == account_id
        listed = admin.keys.list(account_id)
        assert second.id in [k.id for k in listed]
        assert all(k.key is None for k in listed)  # shown only when created
        with Client(second.key, api.url, retry=FAST_RETRIES) as client:
            assert client.webhooks.list().data == []
            admin.keys.delete(account_id, second.id)
            with pytest.raises(AuthenticationError) as raised:
                client.webhooks.list()
        assert raised.value.status_code == 401
    with Client(first_key, api.url) as still_valid:
        assert still_valid.webhooks.list().data == []


def test_account_keys_cannot_administer(api: RunningApi) -> None:
    with api.client() as client, pytest.raises(PermissionDeniedError) as raised:
        client.accounts.list()
    assert (raised.value.status_code, raised.value.error_type) == (403, "permission_denied")


def test_portal_session(api: RunningApi) -> None:
    account_id, _key = api.new_account()
    with api.admin() as admin:
        created = admin.accounts.create_portal_session(
            account_id, ttl_seconds=600, read_only=True, primary_color="#0a7d4f", dark_mode=True
        )
        assert created.read_only is True
        assert "/dashboard/portal?token=" in created.url
        with pytest.raises(InvalidRequestError) as raised:
            admin.accounts.create_portal_session(account_id, primary_color="green")
        assert raised.value.status_code == 400
        with pytest.raises(NotFoundError):
            admin.accounts.create_portal_session("acct_00000000000000000000000000")
    with api.client() as client, pytest.raises(PermissionDeniedError):
        client.accounts.create_portal_session(account_id)
