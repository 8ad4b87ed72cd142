"""IP allow-listing: accept deliveries only from Promptha's addresses, behind your proxies."""

from __future__ import annotations

import os

from fastapi import FastAPI

from promptha_webhooks.receiver import IPAllowList, Webhooks
from promptha_webhooks.receiver.adapters.fastapi import webhook_router

# Placeholders (documentation ranges): use the addresses Promptha publishes.
PROMPTHA_IPS = ["192.0.2.10", "192.0.2.11", "2001:db8:5::/48"]
# Your own load balancers: their X-Forwarded-For is believed, nobody else's.
TRUSTED_PROXIES = ["10.0.0.0/8"]

hooks = Webhooks(secret=os.environ["WEBHOOK_SECRET"])
allow = IPAllowList(PROMPTHA_IPS, trusted_proxies=TRUSTED_PROXIES)

app = FastAPI()
app.include_router(webhook_router(hooks, allow=allow))  # others get 403
