"""The dashboard's routing: event-type patterns and the payload-filter editor on Add and Edit,
and its Try it panel (htmx and without JS), over ASGI on both backends; bad filters are shown
next to their field and change nothing; a saved filter decides what reaches a real receiver."""

from __future__ import annotations

import json
from typing import Any

import httpx
from test_dashboard import csrf_of, key_of, new_client, sign_in

from support import Receiver, Service

BIG_FILTER = json.dumps({"data.usage.totalTokens": {"$gt": 1000}})
KEEP_FILTER = json.dumps({"data.executionId": {"$prefix": "keep-"}})
HTMX = {"HX-Request": "true"}


async def _post(
    browser: httpx.AsyncClient, path: str, fields: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    token = await csrf_of(browser, "/dashboard/webhooks/new")
    return await browser.post(path, data={"csrf_token": token} | fields, **kwargs)


async def _hooks(service: Service, auth: dict[str, str]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await service.client.get("/v1/webhooks", headers=auth)).json()[
        "data"
    ]
    return data


async def test_patterns_and_payload_filter_saved_shown_and_delivered(
    service: Service, receiver: Receiver
) -> None:
    account, auth = await service.create_account()
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        form = await browser.get("/dashboard/webhooks/new")
        assert 'value="fabric.*"' in form.text and 'value="*"' in form.text
        assert "All Fabric events, also future ones" in form.text
        assert 'id="payload_filter"' in form.text and "Try it" in form.text
        assert "executionId" in form.text  # the Try it payload: the sample of fabric.completed
        fields = {
            "url": receiver.url("/routed"),
            "events": ["fabric.*", "fabric.completed"],
            "fabric_ids": "product-description",
            "payload_filter": KEEP_FILTER,
            "action": "save",
        }
        created = await _post(browser, "/dashboard/webhooks/new", fields)
        assert created.status_code == 201, created.text
        [hook] = await _hooks(service, auth)
        assert hook["events"] == ["fabric.*", "fabric.completed"]
        assert hook["filters"] == {
            "fabricId": ["product-description"],
            "data.executionId": {"$prefix": "keep-"},
        }
        edit = await browser.get(f"/dashboard/webhooks/{hook['id']}")
        assert 'value="fabric.*" checked' in edit.text
        assert 'value="fabric.completed" checked' in edit.text
        assert 'value="*" checked' not in edit.text and 'value="ask.*" checked' not in edit.text
        assert "product-description</textarea>" in edit.text
        assert "&#34;data.executionId&#34;" in edit.text  # the payload filter, as JSON

        usage = {"promptTokens": 1, "completionTokens": 1}
        base = {"executionId": "e1", "fabricId": "product-description", "result": {}}
        dropped = base | {"usage": usage | {"totalTokens": 10}}
        await service.publish(account, "fabric.completed", dropped)
        other = base | {"executionId": "keep-other", "fabricId": "seo", "usage": usage}
        await service.publish(
            account, "fabric.completed", other | {"usage": usage | {"totalTokens": 1}}
        )
        started = {"executionId": "keep-1", "fabricId": "product-description", "inputs": {}}
        await service.publish(account, "fabric.started", started)
        [arrived] = await receiver.wait_for(1, path="/routed")
        assert json.loads(arrived.body)["data"]["executionId"] == "keep-1"
        await service.wait_delivery(auth, hook["id"], status="delivered")
        listed = await service.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth)
        assert len(listed.json()["data"]) == 1

        # Edit: every event (a fabricId filter cannot go with it: shown, nothing changes); then
        # fabric events only, the payload filter cleared, the fabricId values kept.
        refused = await _post(
            browser,
            f"/dashboard/webhooks/{hook['id']}",
            {"url": receiver.url("/routed"), "events": "*", "fabric_ids": "seo"},
        )
        assert refused.status_code == 400 and 'id="filters-error"' in refused.text
        assert (await _hooks(service, auth))[0]["events"] == ["fabric.*", "fabric.completed"]
        path = f"/dashboard/webhooks/{hook['id']}"
        fields = {"url": receiver.url("/routed"), "events": "fabric.*", "fabric_ids": "seo"}
        saved = await _post(browser, path, fields)
        assert saved.status_code == 303, saved.text
        [after] = await _hooks(service, auth)
        assert (after["events"], after["filters"]) == (["fabric.*"], {"fabricId": ["seo"]})
        assert 'value="fabric.*" checked' in (await browser.get(path)).text
        everything = await _post(browser, path, fields | {"events": "*", "fabric_ids": ""})
        assert everything.status_code == 303
        assert 'value="*" checked' in (await browser.get(path)).text


async def test_bad_filters_are_shown_next_to_the_field_and_change_nothing(
    service: Service,
) -> None:
    _account, auth = await service.create_account()
    deep = "[" * 5000 + "]" * 5000
    nested = json.dumps(
        {"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{}]}]}]}]}]}]}]}
    )
    cases = [
        "{not json",
        "[1, 2]",
        '{"data.usage.totalTokens": {"$gt": "many"}}',
        '{"data.nowhere.atAll": {"$eq": 1}}',
        '{"data.usage.totalTokens": {"$regex": "x"}}',
        '{"fabricId": ["seo"]}',  # with fabric_ids too: one place only
        deep,
        nested,
        '{"a": "\ud800"}'.encode("utf-8", "surrogatepass").decode("latin-1"),
        json.dumps({"data.fabricId": {"$in": ["x" * 2000]}}),
    ]
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        for text in cases:
            fields = {
                "url": "http://127.0.0.1:9/x",
                "events": "fabric.completed",
                "fabric_ids": "seo",
                "payload_filter": text,
            }
            response = await _post(browser, "/dashboard/webhooks/new", fields)
            assert response.status_code == 400, (text[:80], response.text)
            assert 'id="payload_filter-error"' in response.text, text[:80]
        # A lone surrogate as the browser would send it, and a pattern that covers nothing.
        token = await csrf_of(browser, "/dashboard/webhooks/new")
        raw = (
            f"csrf_token={token}&url=http%3A%2F%2F127.0.0.1%3A9%2Fx&events=fabric.completed"
            "&payload_filter=%7B%22data.fabricId%22%3A%22%ED%A0%80%22%7D"
        )
        form_headers = {"content-type": "application/x-www-form-urlencoded"}
        surrogate = await browser.post("/dashboard/webhooks/new", content=raw, headers=form_headers)
        assert surrogate.status_code in (201, 400), surrogate.text
        bad_pattern = await _post(
            browser, "/dashboard/webhooks/new", {"url": "http://127.0.0.1:9/x", "events": "nope.*"}
        )
        assert bad_pattern.status_code == 400 and 'id="events-error"' in bad_pattern.text
        huge = await _post(
            browser,
            "/dashboard/webhooks/new",
            {"url": "http://127.0.0.1:9/x", "events": "*", "payload_filter": "x" * 300_000},
        )
        assert huge.status_code in (400, 413)
        hooks = await _hooks(service, auth)
        assert len(hooks) <= 1  # only the surrogate one, if its replacement char was accepted
        assert all(h["url"] == "http://127.0.0.1:9/x" for h in hooks)


async def test_try_it_live_and_without_js(service: Service) -> None:
    _account, auth = await service.create_account()
    _other, other_auth = await service.create_account("Other")
    theirs = await service.create_webhook(other_auth, url="http://127.0.0.1:9/theirs")
    mine = await service.create_webhook(auth, url="http://127.0.0.1:9/mine")
    fields = {
        "url": "http://127.0.0.1:9/x",
        "events": "fabric.completed",
        "payload_filter": BIG_FILTER,
        "try_event": "fabric.completed",
        "try_sample_for": "fabric.completed",
    }
    sample = {
        "executionId": "e",
        "fabricId": "f",
        "result": {},
        "usage": {"promptTokens": 1, "completionTokens": 1, "totalTokens": 5000},
    }
    async with new_client(service) as browser:
        await sign_in(browser, key_of(auth))
        for path in (
            "/dashboard/webhooks/new/try-filter",
            f"/dashboard/webhooks/{mine['id']}/try-filter",
        ):
            matches = await _post(
                browser, path, fields | {"try_payload": json.dumps(sample)}, headers=HTMX
            )
            assert matches.status_code == 200, matches.text
            assert "<strong>Matches</strong>" in matches.text
            assert "<html" not in matches.text and "hx-swap-oob" not in matches.text
            low = sample | {"usage": sample["usage"] | {"totalTokens": 3}}
            fails = await _post(
                browser, path, fields | {"try_payload": json.dumps(low)}, headers=HTMX
            )
            assert "<strong>Does not match</strong>" in fails.text
            assert "filters.data.usage.totalTokens.$gt" in fails.text, fails.text
            # Another event type: its sample comes back (out of band) and is tried.
            switched = await _post(
                browser,
                path,
                fields | {"try_event": "ask.message", "try_payload": "{}"},
                headers=HTMX,
            )
            assert 'id="try_payload"' in switched.text and 'hx-swap-oob="true"' in switched.text
            assert "Does not match" in switched.text and "<code>events</code>" in switched.text
            # Without JS: the whole form again, as typed, with the result.
            page = await _post(browser, path, fields | {"try_payload": json.dumps(sample)})
            assert page.status_code == 200 and "<html" in page.text
            assert "<strong>Matches</strong>" in page.text
            assert 'value="fabric.completed" checked' in page.text
            for bad in ("{", "[]", '{"usage": "\\ud800"}', "[" * 3000, "x" * 300_000):
                answer = await _post(browser, path, fields | {"try_payload": bad}, headers=HTMX)
                assert answer.status_code in (200, 413), (bad[:40], answer.status_code)
                if answer.status_code == 200:
                    assert "Cannot try" in answer.text, (bad[:40], answer.text)
            bad_filter = await _post(
                browser, path, fields | {"payload_filter": '{"data.zzz": 1}'}, headers=HTMX
            )
            assert "Cannot try" in bad_filter.text and "data.zzz" in bad_filter.text
        gone = await _post(
            browser, f"/dashboard/webhooks/{theirs['id']}/try-filter", fields, headers=HTMX
        )
        assert gone.status_code == 404
        unknown = await _post(browser, "/dashboard/webhooks/wh_nope/try-filter", fields)
        assert unknown.status_code == 404
        no_csrf = await browser.post("/dashboard/webhooks/new/try-filter", data=fields)
        assert no_csrf.status_code == 403
