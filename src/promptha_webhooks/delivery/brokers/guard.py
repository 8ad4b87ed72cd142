"""The destination guard for a broker: its host and port judged as an HTTPS URL's would be."""

from __future__ import annotations

from promptha_webhooks.config import Mode
from promptha_webhooks.delivery.brokers.kinds import BrokerConfig, broker_host, guard_url
from promptha_webhooks.destinations import Decision, Purpose, ResolveFunc, Verdict, decide


async def check_broker(
    config: BrokerConfig, mode: Mode, resolve: ResolveFunc, purpose: Purpose
) -> Decision:
    """destinations.decide for the broker's host and port (in production: globally routable
    addresses only). SAVE in development needs no DNS; SEND answers the addresses to use."""
    decision = await decide(guard_url(config), mode, resolve, purpose)
    target = decision.target
    if decision.allowed and (target is None or (target.host, target.port) != broker_host(config)):
        return Decision(Verdict.REFUSED, "the guard reads the broker host differently", target)
    return decision
