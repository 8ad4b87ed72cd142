"""IP allow-listing from the addresses the service publishes (GET /v1/ips), or a pinned copy."""

from __future__ import annotations

import os

from fastapi import FastAPI

from promptha_webhooks.receiver import IPAllowList, Webhooks
from promptha_webhooks.receiver.adapters.fastapi import webhook_router

TRUSTED_PROXIES = ["10.0.0.0/8"]

if pinned := os.environ.get("PROMPTHA_IPS_FILE"):  # `promptha-webhooks ips --save FILE`
    allow = IPAllowList.from_file(pinned, trusted_proxies=TRUSTED_PROXIES)
else:  # fetched once, at start
    allow = IPAllowList.from_promptha(os.environ["PROMPTHA_URL"], trusted_proxies=TRUSTED_PROXIES)

hooks = Webhooks(secret=os.environ["WEBHOOK_SECRET"])
app = FastAPI()
app.include_router(webhook_router(hooks, allow=allow))  # others get 403
