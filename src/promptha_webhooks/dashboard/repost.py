"""Create forms posted again: a reload of a "created" page never creates a second object.

Add Webhook and Create API key answer their POST with the page that shows the new secret
(shown only this once), so that page is a POST answer, and reloading it (F5, a browser that
restores the tab, Back then Forward) posts the form again. Without this module every re-post
made another webhook (duplicate deliveries) or another key. Rotate (a webhook's signing
secret) is the same without JavaScript: a re-post rotated again, dropping the secret the first
rotation kept signing for its grace period.

The design, stateless (nothing stored server-side, any API process can answer, and it works in
the customer portal's iframe):

* Every rendering of a create form carries a random one-time `form_id` hidden field (the
  templates name it `form_id`, FORM_ID_FIELD).
* A successful create answers with the created page as before, and sets the cookie
  CREATED_COOKIE that remembers `form_id → what it created` (kind and id) for the last
  MAX_REMEMBERED creates. The cookie is sealed with the session codec (`SessionCodec.seal`:
  an HMAC with a key derived from the session secret, over the session's nonce and the
  entries), so it cannot be edited to point at another id and is worthless in any other
  session; it lives as long as the session (a re-post from another session fails its CSRF
  check anyway), HttpOnly, under the mount path, with the session cookie's attributes
  (SameSite=None; Secure; Partitioned in a portal session, `responses.set_session_cookie`).
* A POST whose `form_id` is in the cookie creates nothing: 303 to what it created (a webhook's
  page, which can reveal the secret; the API keys page, as a key is never shown again) with a
  notice saying so. The 303 carries no secret, and a reload after it is a GET. (An htmx
  request, Rotate's, gets HX-Redirect instead of a 303.)
* A POST without `form_id` (scripted clients, a tab opened before this change) creates as it
  always did, unprotected; a malformed `form_id` is refused with a 400 page ("reload the
  form"), as a form this dashboard rendered never sends one.

Why not Post/Redirect/Get: the secret would have to cross the redirect (in a flash cookie, or
stored server-side to be shown once), putting the secret itself into a cookie or a new table;
here the secret is only ever in the one POST answer, as before. The same answer is also what
htmx and no-JS browsers get. A limit: two POSTs racing before the first answer arrives (a
double click) both create, as the cookie only exists once the first answer is back.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from promptha_webhooks.dashboard.dependencies import SignedIn, dashboard_state
from promptha_webhooks.dashboard.forms import FormData
from promptha_webhooks.dashboard.responses import set_session_cookie
from promptha_webhooks.errors import InvalidRequestError

FORM_ID_FIELD: Final = "form_id"
CREATED_COOKIE: Final = "pw_created"
MAX_REMEMBERED: Final = 8  # creates remembered per browser and session (the cookie's size)
FORM_ID_BYTES: Final = 16
WEBHOOK: Final = "webhook"
API_KEY: Final = "key"
ROTATION: Final = "rotation"  # a webhook's secret rotated (Rotate, the object: the webhook)
# What `new_form_id` makes (token_urlsafe), with room to spare; anything else is refused.
_FORM_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True, slots=True)
class Created:
    """What a form created: its form id, the kind (WEBHOOK, API_KEY) and the object's id."""

    form_id: str
    kind: str
    object_id: str


def new_form_id() -> str:
    """A fresh one-time id for a create form."""
    return secrets.token_urlsafe(FORM_ID_BYTES)


def form_id_of(form: FormData) -> str | None:
    """The posted form's id; None if it has none (created unprotected, as before); a malformed
    one is refused (400)."""
    value = form.get(FORM_ID_FIELD)
    if not value:
        return None
    if not _FORM_ID.fullmatch(value):
        raise InvalidRequestError(
            "This form is out of date: reload the page and fill it in again.",
            field=FORM_ID_FIELD,
        )
    return value


def form_id_again(form: FormData) -> str:
    """The id a form shown again keeps (after a validation error or a Try it): the posted one,
    as nothing was created with it yet, or a fresh one if it had none."""
    value = form.get(FORM_ID_FIELD)
    return value if _FORM_ID.fullmatch(value) else new_form_id()


def remembered(request: Request, user: SignedIn) -> list[Created]:
    """The creates the cookie remembers for this session, oldest first (none if it is missing,
    tampered with or from another session)."""
    codec = dashboard_state(request).codec
    data = codec.unseal(user.session, request.cookies.get(CREATED_COOKIE))
    if data is None:
        return []
    try:
        return [Created(str(f), str(k), str(o)) for f, k, o in json.loads(data)]
    except (ValueError, TypeError):
        return []


def already_created(request: Request, user: SignedIn, form_id: str, kind: str) -> str | None:
    """The id of the object of this kind that this form already created, if it did."""
    for entry in remembered(request, user):
        if entry.form_id == form_id and entry.kind == kind:
            return entry.object_id
    return None


def remember(request: Request, response: Response, user: SignedIn, created: Created) -> None:
    """Set the cookie on the created page: this form created this object (the last
    MAX_REMEMBERED creates are kept), until the session ends."""
    entries = [
        e
        for e in remembered(request, user)
        if (e.form_id, e.kind) != (created.form_id, created.kind)
    ]
    entries = [*entries, created][-MAX_REMEMBERED:]
    data = json.dumps([[e.form_id, e.kind, e.object_id] for e in entries], separators=(",", ":"))
    value = dashboard_state(request).codec.seal(user.session, data.encode())
    max_age_s = max(user.session.expires_at - int(time.time()), 1)
    set_session_cookie(request, response, user, CREATED_COOKIE, value, max_age_s)
