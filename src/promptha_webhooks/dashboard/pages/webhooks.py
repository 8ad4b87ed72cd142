"""Settings > Webhooks: the list, Add Webhook (and Save and test), the detail page with its
edit form, enable/disable, delete, the signing secret (revealed only in a POST answer), its
rotation (Rotate with a grace period, Complete now) and the test-event panel.

Add Webhook's form carries a one-time `form_id` (repost.py): reloading the "Webhook created"
page posts the form again, and that re-post creates nothing but redirects to the webhook. The
Rotate form too: without JavaScript its answer is a whole page, and a reload of it would rotate
again, dropping the secret the first rotation kept signing for its grace period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from promptha_webhooks import signing_standard
from promptha_webhooks.catalog import EVENT_TYPES, EVENT_TYPES_BY_NAME
from promptha_webhooks.dashboard import stats_view
from promptha_webhooks.dashboard.dependencies import (
    SIGNED_IN_ONLY,
    CurrentServices,
    CurrentUser,
    SignedIn,
    current_services,
)
from promptha_webhooks.dashboard.forms import (
    FormData,
    WebhookForm,
    parse_payload,
    read_form,
    sample_text,
)
from promptha_webhooks.dashboard.rendering import MOUNT_PATH
from promptha_webhooks.dashboard.repost import (
    ROTATION,
    WEBHOOK,
    Created,
    already_created,
    form_id_again,
    form_id_of,
    new_form_id,
    remember,
)
from promptha_webhooks.dashboard.responses import is_htmx, page, redirect
from promptha_webhooks.errors import InvalidRequestError, NotFoundError, PrompthaError
from promptha_webhooks.models import TestResult, Webhook
from promptha_webhooks.routing import EventSelector
from promptha_webhooks.services import Services
from promptha_webhooks.signature_headers import SignatureAlgorithm
from promptha_webhooks.webhook_secrets import DEFAULT_GRACE_PERIOD_S, SigningSecrets

router = APIRouter(include_in_schema=False, dependencies=SIGNED_IN_ONLY)

WEBHOOKS_PAGE_SIZE = 50
RECENT_DELIVERIES = 5  # the detail page's "Recent deliveries"
NEW_WEBHOOK_EVENTS = ("fabric.completed",)  # ticked when the Add Webhook form opens
# The Rotate form's grace periods (seconds, label): how long the replaced secret keeps signing.
GRACE_PERIODS: Final = (
    (0, "No grace period: it stops now"),
    (3_600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
)


@dataclass(frozen=True, slots=True)
class DetailPanels:
    """What an action on the detail page shows in it again: the edit form as typed (with its
    errors), a revealed secret, and the test panel as the last test left it."""

    form: WebhookForm | None = None
    secret: str | None = None
    rotated: bool = False
    test: TestResult | None = None
    test_event: str | None = None
    test_payload: str | None = None
    test_error: str = ""


NO_PANELS = DetailPanels()


def rotation_end(webhook: Webhook) -> datetime | None:
    """When the previous secret stops signing, if a rotation's grace period is running."""
    ends = webhook.previous_secret_expires_at
    return ends if ends is not None and ends > datetime.now(UTC) else None


def public_key(webhook: Webhook) -> str | None:
    """An ed25519 webhook's whpk_ public key (not a secret: shown on every GET)."""
    signing = webhook.signing
    if isinstance(signing, SigningSecrets) and signing.algorithm is SignatureAlgorithm.ED25519:
        return signing_standard.public_key(signing.current)
    return None


def secret_panel(webhook: Webhook, panels: DetailPanels) -> dict[str, Any]:
    """What the signing-secret panel shows (_secret_panel.html)."""
    return {
        "public_key": public_key(webhook),
        "webhook": webhook,
        "webhook_id": webhook.id,
        "secret": panels.secret,
        "rotated": panels.rotated,
        "rotation_ends": rotation_end(webhook),
        "grace_periods": GRACE_PERIODS,
        "default_grace_period": DEFAULT_GRACE_PERIOD_S,
        "form_id": new_form_id(),  # the Rotate form's (repost.py)
    }


async def detail_page(
    request: Request,
    user: SignedIn,
    webhook_id: str,
    panels: DetailPanels = NO_PANELS,
    *,
    status_code: int = 200,
) -> Response:
    services = current_services(request)
    webhook = await services.get_webhook(user.account_id, webhook_id)
    form = panels.form
    if form is None:
        form = WebhookForm.from_webhook(webhook)
    event = panels.test_event or webhook.events[0]
    test_payload = sample_text(event) if panels.test_payload is None else panels.test_payload
    health = await stats_view.webhook_health(services, user.account_id, webhook_id)
    recent = await services.list_deliveries(
        user.account_id,
        webhook_id,
        status=None,
        event_type=None,
        limit=RECENT_DELIVERIES,
        cursor=None,
    )
    return page(
        request,
        "webhook_detail.html",
        secret_panel(webhook, panels)
        | {
            "form": form,
            "test": panels.test,
            "test_event": event,
            "test_payload": test_payload,
            "test_error": panels.test_error,
            "recent": recent.data,
            "health": health,
        },
        user=user,
        status_code=status_code,
    )


@router.get("/webhooks")
async def webhook_list(request: Request, user: CurrentUser, services: CurrentServices) -> Response:
    cursor = request.query_params.get("cursor") or None
    try:
        listing = await services.list_webhooks(user.account_id, WEBHOOKS_PAGE_SIZE, cursor)
    except InvalidRequestError:
        return redirect("/webhooks")
    stats = await stats_view.webhook_stats(services, user.account_id, listing.data)
    return page(
        request,
        "webhooks.html",
        {"webhooks": listing, "stats": stats, "cursor": cursor},
        user=user,
    )


@router.get("/webhooks/new")
async def new_webhook(request: Request, user: CurrentUser) -> Response:
    form = WebhookForm(events=list(NEW_WEBHOOK_EVENTS))
    return page(request, "webhook_new.html", {"form": form, "form_id": new_form_id()}, user=user)


async def already_created_answer(services: Services, user: SignedIn, webhook_id: str) -> Response:
    """A re-posted Add Webhook form: to the webhook it created (never its secret again)."""
    try:
        await services.get_webhook(user.account_id, webhook_id)  # the account's, and still there
    except NotFoundError:
        return redirect("/webhooks", done="already-created-deleted")
    return redirect(f"/webhooks/{webhook_id}", done="already-created")


def test_event_of(selected: list[str]) -> str:
    """The event type "Save and test" sends: the first type selected, or the first type of the
    catalog that the first pattern covers (`fabric.*`, `*`)."""
    for selector in selected:
        if selector in EVENT_TYPES_BY_NAME:
            return selector
        covers = EventSelector.of([selector]).covers
        for event_type in EVENT_TYPES:
            if covers(event_type.name):
                return event_type.name
    return selected[0]


@router.post("/webhooks/new")
async def create_webhook(
    request: Request, user: CurrentUser, services: CurrentServices
) -> Response:
    """Add Webhook: the "Webhook created" page with the secret, shown this once. The same form
    posted again (a reload of that page) creates nothing: 303 to the webhook (repost.py)."""
    form_data = await read_form(request)
    form_id = form_id_of(form_data)
    if form_id is not None:
        earlier = already_created(request, user, form_id, WEBHOOK)
        if earlier is not None:
            return await already_created_answer(services, user, earlier)
    form = WebhookForm.from_form(form_data)
    created = await form.submit(
        services,
        lambda: services.create_webhook(user.account_id, form.definition()),
    )
    if created is None:
        context = {"form": form, "form_id": form_id or new_form_id()}
        return page(request, "webhook_new.html", context, user=user, status_code=400)
    test: TestResult | None = None
    test_error = ""
    if form_data.get("action") == "save_test":
        # Created whatever the test does: its error shows on the created page, which is
        # answered (and remembered) all the same.
        try:
            test = await services.send_test(
                user.account_id, created.id, test_event_of(created.events), {}
            )
        except PrompthaError as exc:
            test_error = exc.message
    response = page(
        request,
        "webhook_created.html",
        {
            "webhook": created,
            "secret": created.secret_value(),
            "public_key": public_key(created),
            "test": test,
            "test_error": test_error,
        },
        user=user,
        status_code=201,
    )
    if form_id is not None:
        remember(request, response, user, Created(form_id, WEBHOOK, created.id))
    return response


@router.get("/webhooks/{webhook_id}")
async def webhook_detail(request: Request, webhook_id: str, user: CurrentUser) -> Response:
    return await detail_page(request, user, webhook_id)


@router.post("/webhooks/{webhook_id}")
async def update_webhook(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    current = await services.get_webhook(user.account_id, webhook_id)  # 404 before validating
    form = WebhookForm.from_form(await read_form(request))
    saved = await form.submit(
        services,
        lambda: services.update_webhook(user.account_id, webhook_id, form.changes(current)),
    )
    if saved is None:
        return await detail_page(
            request, user, webhook_id, DetailPanels(form=form), status_code=400
        )
    return redirect(
        f"/webhooks/{webhook_id}", done="saved-new-secret" if form.new_secret else "saved"
    )


def try_answer(request: Request, user: SignedIn, form: WebhookForm) -> Response | None:
    """Try the form's filter (the Try it panel): the htmx answer (the result, and the payload
    box again when the event type changed), or None for the whole page to show it."""
    form.try_filter(current_services(request))
    if not is_htmx(request):
        return None
    return page(
        request, "_filter_try.html", {"form": form, "resampled": form.try_resampled}, user=user
    )


@router.post("/webhooks/new/try-filter")
async def try_new_filter(request: Request, user: CurrentUser) -> Response:
    """Add Webhook's Try it: would this event reach a webhook with the form's events and
    filters? (htmx: the result; without JS: the form again with it.)"""
    form_data = await read_form(request)
    form = WebhookForm.from_form(form_data)
    answer = try_answer(request, user, form)
    if answer is not None:
        return answer
    context = {"form": form, "form_id": form_id_again(form_data)}
    return page(request, "webhook_new.html", context, user=user)


@router.post("/webhooks/{webhook_id}/try-filter")
async def try_filter(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """The edit form's Try it (a 404 for a webhook that is not the account's)."""
    await services.get_webhook(user.account_id, webhook_id)
    form = WebhookForm.from_form(await read_form(request))
    answer = try_answer(request, user, form)
    if answer is not None:
        return answer
    return await detail_page(request, user, webhook_id, DetailPanels(form=form))


@router.post("/webhooks/{webhook_id}/enabled")
async def set_enabled(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    enable = (await read_form(request)).get("enabled") == "true"
    await services.update_webhook(user.account_id, webhook_id, {"enabled": enable})
    return redirect(f"/webhooks/{webhook_id}", done="enabled" if enable else "disabled")


@router.post("/webhooks/{webhook_id}/delete")
async def delete_webhook(webhook_id: str, user: CurrentUser, services: CurrentServices) -> Response:
    await services.delete_webhook(user.account_id, webhook_id)
    return redirect("/webhooks", done="deleted")


@router.post("/webhooks/{webhook_id}/secret")
async def reveal_secret(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """Reveal the signing secret: only ever in a POST answer."""
    revealed = await services.get_webhook_secret(user.account_id, webhook_id)
    if is_htmx(request):
        return page(
            request,
            "_secret.html",
            {"webhook_id": webhook_id, "secret": revealed.secret, "rotated": False},
            user=user,
        )
    return await detail_page(request, user, webhook_id, DetailPanels(secret=revealed.secret))


def grace_period(form: FormData) -> int:
    """The Rotate form's grace period in seconds (the service checks its range)."""
    text = form.get("grace_period", str(DEFAULT_GRACE_PERIOD_S)).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise InvalidRequestError("Choose a grace period", field="grace_period")
    return int(text)


async def secret_answer(
    request: Request, user: SignedIn, webhook_id: str, panels: DetailPanels
) -> Response:
    """After a rotation or its completion: the panel again (htmx) or the whole page."""
    if not is_htmx(request):
        return await detail_page(request, user, webhook_id, panels)
    webhook = await current_services(request).get_webhook(user.account_id, webhook_id)
    return page(request, "_secret_panel.html", secret_panel(webhook, panels), user=user)


@router.post("/webhooks/{webhook_id}/rotate-secret")
async def rotate_secret(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """Rotate: a new secret signs at once, the current one keeps signing for the chosen grace
    period. The new secret is shown in this POST answer only. The same form posted again (a
    reload of that answer) does not rotate again: 303 to the webhook's page (repost.py)."""
    form = await read_form(request)
    seconds = grace_period(form)
    form_id = form_id_of(form)
    if form_id is not None and already_created(request, user, form_id, ROTATION) == webhook_id:
        path = f"/webhooks/{webhook_id}?done=already-rotated"
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": MOUNT_PATH + path})
        return redirect(f"/webhooks/{webhook_id}", done="already-rotated")
    rotation = await services.rotate_webhook_secret(
        user.account_id, webhook_id, grace_period_s=seconds
    )
    panels = DetailPanels(secret=rotation.secret, rotated=True)
    response = await secret_answer(request, user, webhook_id, panels)
    if form_id is not None:
        remember(request, response, user, Created(form_id, ROTATION, webhook_id))
    return response


@router.post("/webhooks/{webhook_id}/rotate-secret/complete")
async def complete_rotation(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """Complete now: the previous secret stops signing."""
    await services.complete_secret_rotation(user.account_id, webhook_id)
    return await secret_answer(request, user, webhook_id, NO_PANELS)


@router.get("/webhooks/{webhook_id}/test-sample")
async def test_sample(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    """The test panel's payload box, refilled with the sample of the chosen event type."""
    await services.get_webhook(user.account_id, webhook_id)
    event = request.query_params.get("event", "")
    if event not in EVENT_TYPES_BY_NAME:
        raise InvalidRequestError(f"Unknown event type {event!r}", field="event")
    return page(
        request,
        "_test_payload.html",
        {"test_payload": sample_text(event), "test_error": ""},
        user=user,
    )


@router.post("/webhooks/{webhook_id}/test")
async def send_test(
    request: Request, webhook_id: str, user: CurrentUser, services: CurrentServices
) -> Response:
    form = await read_form(request)
    event, text = form.get("event"), form.get("payload")
    payload, error = parse_payload(text)
    result: TestResult | None = None
    if payload is not None:
        try:
            result = await services.send_test(user.account_id, webhook_id, event, payload)
        except InvalidRequestError as exc:
            error = exc.message
    if is_htmx(request):
        return page(
            request, "_test_result.html", {"test": result, "test_error": error or ""}, user=user
        )
    panels = DetailPanels(
        test=result,
        test_event=event if event in EVENT_TYPES_BY_NAME else None,
        test_payload=text,
        test_error=error or "",
    )
    return await detail_page(
        request, user, webhook_id, panels, status_code=200 if error is None else 400
    )
