"""/v1/alert-contacts: where an account's operational alerts go (e-mail addresses and an alert
webhook). An account key reads and sets its own; the admin key names the account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from promptha_webhooks.api.body import StrictJSONRoute
from promptha_webhooks.api.deps import PrincipalDep, ServicesDep
from promptha_webhooks.api.events import target_account
from promptha_webhooks.api.schemas import PutAlertContacts
from promptha_webhooks.models import AlertContacts
from promptha_webhooks.services.alert_contacts import AlertContactsChange

router = APIRouter(prefix="/v1/alert-contacts", tags=["alerts"], route_class=StrictJSONRoute)

ACCOUNT_DOC = "Target account (admin key); defaults to the key's account"


@router.get("", response_model=AlertContacts)
async def get_alert_contacts(
    services: ServicesDep,
    principal: PrincipalDep,
    account: Annotated[str | None, Query(description=ACCOUNT_DOC)] = None,
) -> AlertContacts:
    """The account's alert e-mail addresses and alert webhook."""
    return await services.alert_contacts.get(target_account(principal, account))


@router.put("", response_model=AlertContacts)
async def put_alert_contacts(
    body: PutAlertContacts, services: ServicesDep, principal: PrincipalDep
) -> AlertContacts:
    """Replace the account's alert contacts. Each alert e-mail about one of its webhooks goes
    to these addresses (the operators' address, if configured, gets its own copy); the alert
    webhook receives every operational event about the account's other webhooks."""
    change = AlertContactsChange(emails=body.emails, webhook_id=body.webhookId)
    return await services.alert_contacts.replace(target_account(principal, body.account), change)
