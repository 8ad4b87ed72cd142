"""What the dashboard's pages depend on: the state `create_dashboard` keeps on the
sub-application (`app.state.dashboard`), the services, and the signed-in session, checked on
every request (signature, expiry, not signed out, the key still exists, CSRF on every POST).

Page groups that are for signed-in accounts only put `signed_in` on their whole router
(`dependencies=SIGNED_IN_ONLY`), so a route added to them cannot skip the check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from promptha_webhooks.dashboard.forms import read_form
from promptha_webhooks.dashboard.rendering import Renderer
from promptha_webhooks.dashboard.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    DashboardSession,
    SessionCodec,
)
from promptha_webhooks.errors import NotFoundError
from promptha_webhooks.models import Account
from promptha_webhooks.services import Services

ServicesProvider = Callable[[], Services]
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class DashboardState:
    """Built once by `create_dashboard`: where the services are (they are built when the API
    app starts), the session codec, the templates, and whether cookies are `Secure`."""

    services: ServicesProvider
    codec: SessionCodec
    renderer: Renderer
    secure_cookies: bool


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The checked session of a request and the account it belongs to."""

    session: DashboardSession
    account: Account

    @property
    def account_id(self) -> str:
        return self.session.account_id


class SignInRequired(Exception):
    """No valid session: send the browser to the sign-in page."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


def dashboard_state(request: Request) -> DashboardState:
    """The dashboard's state; `request.app` is the dashboard sub-application."""
    state: DashboardState = request.app.state.dashboard
    return state


def current_services(request: Request) -> Services:
    return dashboard_state(request).services()


async def current_session(request: Request) -> DashboardSession | None:
    """The cookie's session, if its signature and expiry hold and it was not signed out."""
    state = dashboard_state(request)
    session = state.codec.load(request.cookies.get(SESSION_COOKIE))
    if session is None or await state.services().dashboard_session_revoked(session.session_hash):
        return None
    return session


async def signed_in(request: Request) -> SignedIn:
    """The session, checked: signature, expiry, not signed out, the key still exists; and
    CSRF on every request that can change something."""
    session = await current_session(request)
    if session is None:
        raise SignInRequired()
    state = dashboard_state(request)
    services = state.services()
    try:
        keys = await services.list_api_keys(session.account_id)
        account = await services.get_account(session.account_id)
    except NotFoundError:
        raise SignInRequired() from None
    if not any(key.id == session.key_id for key in keys):
        raise SignInRequired()
    if request.method not in SAFE_METHODS:
        token = request.headers.get(CSRF_HEADER)
        if token is None:
            token = (await read_form(request)).get(CSRF_FIELD)
        if not state.codec.check_csrf(session, token):
            raise CsrfRejected()
    return SignedIn(session=session, account=account)


# Parameter types of the route handlers. FastAPI caches a dependency per request, so a
# handler that takes `CurrentUser` on a router that already requires it checks it once.
CurrentServices = Annotated[Services, Depends(current_services)]
CurrentUser = Annotated[SignedIn, Depends(signed_in)]
SIGNED_IN_ONLY = [Depends(signed_in)]
