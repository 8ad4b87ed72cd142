"""Settings > API keys: the signed-in account's keys (id, prefix, created, which one this
session signed in with), Create (the new key is shown once, in the POST answer, with a copy
button) and Revoke (behind a confirmation). Revoking the key this session signed in with ends
the session too: the browser lands on the sign-in page, signed out.

The same services as `GET/POST /v1/keys` and `DELETE /v1/keys/{id}`; another account's key id
is "not found".

The Create form carries a one-time `form_id` (repost.py): posting it again (a reload of the
answer that shows the new key, without JavaScript's `data-replace-url`, or the form sent twice)
makes no second key but redirects to the list with a notice."""

from __future__ import annotations

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
from promptha_webhooks.dashboard.repost import (
    API_KEY,
    Created,
    already_created,
    form_id_of,
    new_form_id,
    remember,
)
from promptha_webhooks.dashboard.responses import delete_cookie, page, redirect
from promptha_webhooks.dashboard.sessions import SESSION_COOKIE
from promptha_webhooks.models import ApiKey
from promptha_webhooks.services import Services

router = APIRouter(include_in_schema=False, dependencies=SIGNED_IN_ONLY)


async def keys_page(
    request: Request,
    user: SignedIn,
    services: Services,
    *,
    created: ApiKey | None = None,
    status_code: int = 200,
) -> Response:
    keys = await services.list_api_keys(user.account_id)
    return page(
        request,
        "keys.html",
        {
            "keys": keys,
            "created": created,
            "current_key_id": user.session.key_id,
            "form_id": new_form_id(),
        },
        user=user,
        status_code=status_code,
    )


@router.get("/keys")
async def key_list(request: Request, user: CurrentUser, services: CurrentServices) -> Response:
    return await keys_page(request, user, services)


@router.post("/keys")
async def create_key(request: Request, user: CurrentUser, services: CurrentServices) -> Response:
    """A new key, shown in this answer only (a reload of /keys never shows it again); the same
    form posted again makes no second key (repost.py)."""
    form_id = form_id_of(await read_form(request))
    if form_id is not None and already_created(request, user, form_id, API_KEY) is not None:
        return redirect("/keys", done="key-already-created")
    created = await services.create_api_key(user.account_id)
    response = await keys_page(request, user, services, created=created, status_code=201)
    if form_id is not None:
        remember(request, response, user, Created(form_id, API_KEY, created.id))
    return response


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: str, user: CurrentUser, services: CurrentServices) -> Response:
    await services.delete_api_key(user.account_id, key_id)  # another account's key: 404
    if key_id != user.session.key_id:
        return redirect("/keys", done="key-revoked")
    # The session's own key: it is gone, so is the session (recorded as signed out).
    await services.revoke_dashboard_session(user.session.session_hash, user.session.expires_at)
    response = redirect("/login", done="key-revoked-signed-out")
    delete_cookie(response, SESSION_COOKIE)
    return response
