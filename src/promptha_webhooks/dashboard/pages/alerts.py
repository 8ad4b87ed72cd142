"""Alerts settings: the account's alert e-mail addresses and alert webhook (its alert
contacts, services/alert_contacts.py). The form is checked by the service's own rules, and an
error shows next to its field with nothing saved."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from promptha_webhooks.dashboard.dependencies import (
    SIGNED_IN_ONLY,
    CurrentServices,
    CurrentUser,
    SignedIn,
)
from promptha_webhooks.dashboard.forms import read_form
from promptha_webhooks.dashboard.responses import page, redirect
from promptha_webhooks.errors import InvalidRequestError, NotFoundError
from promptha_webhooks.models import Webhook
from promptha_webhooks.services import Services
from promptha_webhooks.services.alert_contacts import AlertContactsChange
from promptha_webhooks.services.validation import MAX_ALERT_EMAILS, MAX_PAGE_SIZE

router = APIRouter(include_in_schema=False, dependencies=SIGNED_IN_ONLY)

SAVED = "alerts-saved"
SAVED_NOTICE = "Alert contacts saved."
# Addresses in the text box: one per line, or separated by commas, semicolons or spaces.
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass
class AlertsForm:
    """What the form holds, as typed, and an error per field (emails, webhook, form)."""

    emails: str = ""
    webhook_id: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def change(self) -> AlertContactsChange:
        emails = [e for e in _SEPARATORS.split(self.emails) if e]
        return AlertContactsChange(emails=emails, webhook_id=self.webhook_id or None)


# The choices of the alert-webhook list: the account's webhooks among its newest this many
# (ten pages; `listen` sessions count, and are left out). An account with more picks one by id
# through the API or `alerts set --webhook`.
MAX_ALERT_WEBHOOK_CHOICES = 10 * MAX_PAGE_SIZE


async def _alert_webhook_choices(services: Services, account_id: str) -> list[Webhook]:
    """The account's webhooks an alert webhook may be (any destination but a `listen`
    session), newest first, page by page."""
    choices: list[Webhook] = []
    cursor: str | None = None
    for _ in range(MAX_ALERT_WEBHOOK_CHOICES // MAX_PAGE_SIZE):  # listen sessions count too
        listed = await services.list_webhooks(account_id, MAX_PAGE_SIZE, cursor)
        choices += [hook for hook in listed.data if not (hook.url or "").startswith("listen://")]
        if len(choices) >= MAX_ALERT_WEBHOOK_CHOICES or listed.next_cursor is None:
            break
        cursor = listed.next_cursor
    return choices[:MAX_ALERT_WEBHOOK_CHOICES]


async def _page(
    request: Request, user: SignedIn, services: Services, form: AlertsForm, status_code: int = 200
) -> Response:
    context = {
        "form": form,
        "webhooks": await _alert_webhook_choices(services, user.account_id),
        "max_emails": MAX_ALERT_EMAILS,
        "operator_copy": bool(services.settings.alert_email_to),
        "smtp_configured": bool(services.settings.smtp_host),
    }
    if request.query_params.get("done") == SAVED:
        context["notice"] = SAVED_NOTICE
    return page(request, "alerts.html", context, user=user, status_code=status_code)


@router.get("/alerts")
async def alerts_page(request: Request, user: CurrentUser, services: CurrentServices) -> Response:
    contacts = await services.alert_contacts.get(user.account_id)
    form = AlertsForm(emails="\n".join(contacts.emails), webhook_id=contacts.webhook_id or "")
    return await _page(request, user, services, form)


@router.post("/alerts")
async def save_alerts(request: Request, user: CurrentUser, services: CurrentServices) -> Response:
    data = await read_form(request)
    form = AlertsForm(emails=data.get("emails"), webhook_id=data.get("webhook_id"))
    try:
        await services.alert_contacts.replace(user.account_id, form.change())
    except (InvalidRequestError, NotFoundError) as exc:
        name = "webhook" if exc.field == "webhookId" else "emails"
        form.errors[name] = exc.message
        return await _page(request, user, services, form, status_code=400)
    return redirect("/alerts", done=SAVED)
