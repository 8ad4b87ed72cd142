"""Flask: a view function, or a blueprint, that hands deliveries to a router.

app.register_blueprint(webhook_blueprint(hooks))
app.add_url_rule("/webhooks/promptha", view_func=webhook_view(hooks), methods=["POST"])
"""

from __future__ import annotations

from collections.abc import Callable

import flask

from promptha_webhooks.receiver.adapters import DEFAULT_PATH, forbidden_unless_allowed
from promptha_webhooks.receiver.ip import IPAllowList
from promptha_webhooks.receiver.router import Response, Webhooks

__all__ = ["webhook_blueprint", "webhook_view"]


def _to_flask(response: Response) -> flask.Response:
    return flask.Response(response.body, status=response.status, headers=response.headers)


def webhook_view(
    hooks: Webhooks, *, allow: IPAllowList | None = None
) -> Callable[[], flask.Response]:
    """A view function for a POST route; runs the router on its loop thread (``handle_sync``)."""

    def promptha_webhook() -> flask.Response:
        request = flask.request
        forwarded = request.headers.get("X-Forwarded-For")
        refused = forbidden_unless_allowed(allow, request.remote_addr, forwarded)
        if refused is not None:
            return _to_flask(refused)
        headers = dict(request.headers.items())
        return _to_flask(hooks.handle_sync(request.get_data(cache=False), headers))

    return promptha_webhook


def webhook_blueprint(
    hooks: Webhooks,
    url: str = DEFAULT_PATH,
    *,
    allow: IPAllowList | None = None,
    name: str = "promptha_webhooks",
) -> flask.Blueprint:
    """A blueprint with one POST route at ``url``; ``app.register_blueprint`` it."""
    blueprint = flask.Blueprint(name, __name__)
    blueprint.add_url_rule(
        url, endpoint="receive", view_func=webhook_view(hooks, allow=allow), methods=["POST"]
    )
    return blueprint
