"""What the dashboard's pages depend on: the state `create_dashboard` keeps on the
sub-application (`app.state.dashboard`), the services, and the signed-in session, checked on
every request (signature, expiry, not signed out, the key still exists, CSRF on every POST).

Page groups that are for signed-in accounts only put `signed_in` on their whole router
(`dependencies=SIGNED_IN_ONLY`), so a route added to them cannot skip the check.

Customer-portal sessions (portal.py) are also checked on every route of the dashboard app
(`portal_rules`, an app-wide dependency, so a route added later is covered): the operator pages
(OPERATOR_PAGES) are refused, and a read-only session may only GET (and sign out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from promptha_webhooks.dashboard.forms import read_form
from promptha_webhooks.dashboard.rendering import MOUNT_PATH, Renderer
from promptha_webhooks.dashboard.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    DashboardSession,
    SessionCodec,
)
from promptha_webhooks.errors import NotFoundError
from promptha_webhooks.models import Account
from promptha_webhooks.portal import PortalSession
from promptha_webhooks.services import Services

ServicesProvider = Callable[[], Services]
SAFE_METHODS = frozenset({"GET", "HEAD"})
# Dashboard pages for the platform's operators, not its customers: hidden from the portal's
# navigation and refused (403) in a portal session. Paths under the mount; "/x" covers "/x/…".
OPERATOR_PAGES = ("/monitoring", "/keys")
# The one state-changing request a read-only portal session may make.
READ_ONLY_ALLOWED = frozenset({"/logout"})


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
    portal: PortalSession | None = None

    @property
    def account_id(self) -> str:
        return self.session.account_id

    @property
    def read_only(self) -> bool:
        return self.portal is not None and self.portal.read_only


class SignInRequired(Exception):
    """No valid session: send the browser to the sign-in page."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


class PortalRefused(Exception):
    """A portal session asked for an operator page, or a read-only one for a change."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


async def current_portal(
    request: Request,
    session: Annotated[DashboardSession | None, Depends(current_session)],
) -> PortalSession | None:
    """The portal session behind the cookie, if it is one, opened and not expired."""
    if session is None or not session.is_portal:
        return None
    services = dashboard_state(request).services()
    return await services.get_portal_session(session.account_id, session.key_id)


def is_operator_page(path: str) -> bool:
    """Whether a path under the mount is one of OPERATOR_PAGES (or below one)."""
    return any(path == page or path.startswith(page + "/") for page in OPERATOR_PAGES)


async def portal_rules(
    request: Request, portal: Annotated[PortalSession | None, Depends(current_portal)]
) -> None:
    """On every dashboard route: a portal session never reaches an operator page, and a
    read-only one changes nothing (any method but GET and HEAD, except signing out)."""
    if portal is None:
        return
    path = request.url.path.removeprefix(MOUNT_PATH)
    if is_operator_page(path):
        raise PortalRefused("This page is not part of the customer portal.")
    if portal.read_only and request.method not in SAFE_METHODS and path not in READ_ONLY_ALLOWED:
        raise PortalRefused("This portal session is read-only: it can look but not change.")


async def signed_in(
    request: Request,
    session: Annotated[DashboardSession | None, Depends(current_session)],
    portal: Annotated[PortalSession | None, Depends(current_portal)],
) -> SignedIn:
    """The session, checked: signature, expiry, not signed out, the key (or the portal
    session) still exists; and CSRF on every request that can change something."""
    if session is None:
        raise SignInRequired()
    state = dashboard_state(request)
    services = state.services()
    try:
        account = await services.get_account(session.account_id)
        keys = [] if session.is_portal else await services.list_api_keys(session.account_id)
    except NotFoundError:
        raise SignInRequired() from None
    if session.is_portal:
        if portal is None:
            raise SignInRequired()
    elif not any(key.id == session.key_id for key in keys):
        raise SignInRequired()
    if request.method not in SAFE_METHODS:
        token = request.headers.get(CSRF_HEADER)
        if token is None:
            token = (await read_form(request)).get(CSRF_FIELD)
        if not state.codec.check_csrf(session, token):
            raise CsrfRejected()
    return SignedIn(session=session, account=account, portal=portal)


# Parameter types of the route handlers. FastAPI caches a dependency per request, so a
# handler that takes `CurrentUser` on a router that already requires it checks it once.
CurrentServices = Annotated[Services, Depends(current_services)]
CurrentUser = Annotated[SignedIn, Depends(signed_in)]
SIGNED_IN_ONLY = [Depends(signed_in)]
PORTAL_RULES = [Depends(portal_rules)]
