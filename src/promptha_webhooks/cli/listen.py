"""`listen --forward-to URL`: the local-development tunnel (instead of ngrok).

Opens an outbound Server-Sent Events stream to the service (`GET /v1/listen`); the service
routes the account's deliveries to it as signed attempts; each one is replayed, unchanged, to
the local URL, shown as a line (event, status, ms) and its answer reported back, so it lands
in the delivery log like any attempt. Reconnects by itself when the stream drops.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any

import httpx
import typer
from httpx_sse import aconnect_sse
from rich.text import Text

from promptha_webhooks.cli.context import EXIT_USAGE, fail, output_of, state_of
from promptha_webhooks.cli.output import Output

PANEL = "Development"
LOCAL_TIMEOUT_S = 30.0
RECONNECT_DELAY_S = 1.0
RECONNECT_DELAY_MAX_S = 15.0
MAX_REPORTED_BODY = 64 * 1024


class ListenError(Exception):
    """The service refused the session (bad key, bad events), could not be reached at all, or
    ended it for good (another `listen` took the stream over): reconnecting will not help."""


async def forward_one(
    local: httpx.AsyncClient, forward_to: str, delivery: dict[str, Any]
) -> dict[str, Any]:
    """Replay one streamed delivery to the local URL; return the report for the service."""
    headers: dict[str, str] = delivery["headers"]
    started = time.perf_counter()
    try:
        response = await local.post(forward_to, content=delivery["body"].encode(), headers=headers)
        duration = (time.perf_counter() - started) * 1000
        return {
            "status": response.status_code,
            "headers": dict(response.headers),
            "body": response.text[:MAX_REPORTED_BODY],
            "durationMs": round(duration, 3),
            "requestHeaders": headers,
        }
    except httpx.HTTPError as exc:
        duration = (time.perf_counter() - started) * 1000
        return {
            "status": None,
            "durationMs": round(duration, 3),
            "error": f"local endpoint unreachable: {type(exc).__name__}: {exc}"[:1000],
            "requestHeaders": headers,
        }


async def run_listen(
    *,
    api_url: str,
    api_key: str,
    forward_to: str,
    events: list[str] | None,
    device: str,
    output: Output,
    max_deliveries: int | None = None,
) -> int:
    """Listen until interrupted (or `max_deliveries` were forwarded); returns that count."""
    params: dict[str, str] = {"device": device}
    if events:
        params["events"] = ",".join(events)
    # Set from the first `ready`: a reconnect resumes this session rather than replacing it.
    session: str | None = None
    auth = {"Authorization": f"Bearer {api_key}"}
    forwarded = 0
    connected = False  # once: later failures are reconnected, a first one is reported
    delay = RECONNECT_DELAY_S
    timeout = httpx.Timeout(30.0, read=None)
    async with (
        httpx.AsyncClient(base_url=api_url, headers=auth, timeout=timeout) as api,
        httpx.AsyncClient(timeout=LOCAL_TIMEOUT_S, follow_redirects=False) as local,
    ):
        while max_deliveries is None or forwarded < max_deliveries:
            try:
                resume = {"resume": session} if session else {}
                async with aconnect_sse(api, "GET", "/v1/listen", params=params | resume) as source:
                    if source.response.status_code != 200:
                        await source.response.aread()
                        raise ListenError(_error_message(source.response))
                    connected = True
                    delay = RECONNECT_DELAY_S
                    async for sse in source.aiter_sse():
                        payload = json.loads(sse.data) if sse.data else {}
                        if sse.event == "ready":
                            session = payload.get("session")
                            _show_ready(output, payload, forward_to)
                        elif sse.event == "closed":
                            raise ListenError(_closed_message(payload, device))
                        elif sse.event == "delivery":
                            report = await forward_one(local, forward_to, payload)
                            answer = await api.post(
                                f"/v1/listen/deliveries/{payload['deliveryId']}", json=report
                            )
                            _show_delivery(output, payload, report, answer.status_code)
                            forwarded += 1
                            if max_deliveries is not None and forwarded >= max_deliveries:
                                return forwarded
            except httpx.HTTPError as exc:
                if not connected:
                    raise ListenError(f"Cannot reach the API at {api_url}: {exc}") from None
                output.note(f"Connection to {api_url} lost ({exc}); reconnecting in {delay:g} s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_DELAY_MAX_S)
    return forwarded


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['message']} ({response.status_code} {error['type']})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def _closed_message(closed: dict[str, Any], device: str) -> str:
    if closed.get("reason") == "replaced":
        return (
            "Stopped listening: another `promptha-webhooks listen` on this account "
            f"(device '{device}') took the stream over"
        )
    return f"Stopped listening: {closed.get('message') or 'the service ended the session'}"


def _show_ready(output: Output, ready: dict[str, Any], forward_to: str) -> None:
    if output.json_mode:
        output.json({"ready": ready, "forwardTo": forward_to})
        return
    if ready.get("replaced"):
        output.console.print(
            f"Took the stream over from another `promptha-webhooks listen` on this account "
            f"(device '{ready['device']}'); that one has been told and stops.",
            soft_wrap=True,
            markup=False,
        )
    output.console.print(
        Text.assemble(
            ("Ready! ", "bold green"),
            f"Forwarding {', '.join(ready['events'])} to {forward_to}\n",
            "Your webhook signing secret is ",
            (ready["secret"], "bold"),
            " (session webhook ",
            ready["webhookId"],
            ")",
        ),
        soft_wrap=True,
    )


def _show_delivery(
    output: Output, delivery: dict[str, Any], report: dict[str, Any], recorded: int
) -> None:
    status = report.get("status")
    if output.json_mode:
        output.json(
            {
                "deliveryId": delivery["deliveryId"],
                "event": delivery["event"],
                "eventId": delivery["eventId"],
                "status": status,
                "durationMs": report["durationMs"],
                "error": report.get("error"),
                "recorded": recorded == 200,
            }
        )
        return
    ok = status is not None and 200 <= status < 300
    output.console.print(
        Text.assemble(
            (time.strftime("%H:%M:%S "), "dim"),
            (f"{delivery['event']:<22}", "cyan"),
            f"{delivery['eventId']}  ",
            (f"[{status if status is not None else 'ERR'}]", "green" if ok else "red"),
            f" {report['durationMs']:.0f} ms",
            (f"  {report['error']}" if report.get("error") else "", "red"),
        ),
        soft_wrap=True,
    )


def listen(
    ctx: typer.Context,
    forward_to: Annotated[
        str,
        typer.Option(
            "--forward-to", "-f", help="Local URL that receives the deliveries", show_default=False
        ),
    ],
    events: Annotated[
        str | None,
        typer.Option("--events", "-e", help="Comma-separated event types (default: all)"),
    ] = None,
    device: Annotated[
        str, typer.Option(help="Names this machine's session (one webhook per device)")
    ] = "default",
) -> None:
    """Forward your account's events to a local URL, signed, as they happen (replaces ngrok).

    The service streams each delivery to this command, which replays it to --forward-to and
    reports the answer back into the delivery log. A line per delivery shows event, status
    and time. Stop with Ctrl-C; the session's webhook is disabled when the stream closes.
    One `listen` per account and --device at a time: a second one takes the stream over, and
    this one says so and stops (exit code 1).

    Example:
      promptha-webhooks --api-key pwk_… listen --forward-to http://localhost:3000/webhooks/promptha
    """
    state = state_of(ctx)
    if not state.api_key:
        raise fail(ctx, "No API key: pass --api-key or set PROMPTHA_WEBHOOKS_API_KEY", EXIT_USAGE)
    if not forward_to.startswith(("http://", "https://")):
        raise fail(ctx, "--forward-to must be an http:// or https:// URL")
    names = [e.strip() for e in events.split(",") if e.strip()] if events else None
    try:
        asyncio.run(
            run_listen(
                api_url=state.api_url,
                api_key=state.api_key,
                forward_to=forward_to,
                events=names,
                device=device,
                output=output_of(ctx),
            )
        )
    except ListenError as exc:
        raise fail(ctx, str(exc), 1) from None
    except KeyboardInterrupt:
        output_of(ctx).note("Stopped listening.")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=PANEL)(listen)
