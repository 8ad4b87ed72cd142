"""An app that embeds the Promptha Webhooks customer portal: each page view asks the service,
server-side with the admin key, for a one-time portal URL for the signed-in customer's account
and puts it in an iframe. Only aiohttp and the Promptha client library.

    PROMPTHA_WEBHOOKS_API_URL=http://127.0.0.1:8000 PROMPTHA_WEBHOOKS_ADMIN_KEY=pwa_… \
    PORTAL_ACCOUNT_ID=acct_… python examples/portal/server.py --host 127.0.0.2 --port 9000

The service must list this page's origin in PROMPTHA_WEBHOOKS_PORTAL_ORIGINS
(here http://127.0.0.2:9000), or the browser refuses to show the dashboard in the iframe.
Environment: PORTAL_READ_ONLY=1 (a read-only portal), PORTAL_PRIMARY_COLOR=#0a7d4f,
PORTAL_DARK=1, PORTAL_RETURN_URL=https://… (where Sign out leads).
"""

from __future__ import annotations

import argparse
import html
import os
from pathlib import Path

from aiohttp import web

from promptha_webhooks.client import AsyncClient

PAGE = Path(__file__).with_name("index.html")
ENV = web.AppKey("env", dict)


async def settings_page(request: web.Request) -> web.Response:
    env: dict[str, str] = request.app[ENV]
    # In a real app: the account of the customer signed in to *your* app.
    account_id = env["PORTAL_ACCOUNT_ID"]
    admin_key, api_url = env["PROMPTHA_WEBHOOKS_ADMIN_KEY"], env["PROMPTHA_WEBHOOKS_API_URL"]
    async with AsyncClient(admin_key, api_url) as api:
        session = await api.accounts.create_portal_session(
            account_id,
            ttl_seconds=3600,
            read_only=env.get("PORTAL_READ_ONLY") == "1",
            return_url=env.get("PORTAL_RETURN_URL") or None,
            primary_color=env.get("PORTAL_PRIMARY_COLOR") or None,
            dark_mode=env.get("PORTAL_DARK") == "1",
        )
    body = PAGE.read_text(encoding="utf-8").replace("{{PORTAL_URL}}", html.escape(session.url))
    # Never cache: the URL inside works once.
    return web.Response(text=body, content_type="text/html", headers={"Cache-Control": "no-store"})


def make_app(env: dict[str, str]) -> web.Application:
    app = web.Application()
    app[ENV] = env
    app.router.add_get("/", settings_page)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.2")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    web.run_app(make_app(dict(os.environ)), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
