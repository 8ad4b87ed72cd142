"""The destination guard's one decision (destinations.decide) over the address tricks corpus,
in both modes and for both purposes, and the normal form it hands the HTTP client."""

from __future__ import annotations

import ipaddress

import pytest
from yarl import URL

from promptha_webhooks.config import Mode
from promptha_webhooks.destinations import (
    CachingResolve,
    Purpose,
    Verdict,
    decide,
    validate_webhook_url,
)
from promptha_webhooks.errors import InvalidRequestError
from promptha_webhooks.special_addresses import refusal

from destination_tricks import TRICKS, Expect, Trick, resolve

MIN_TRICKS = 120


def trick_id(trick: Trick) -> str:
    return ascii(trick.url)[1:-1][:80]


def test_the_corpus_is_large_and_has_no_duplicates() -> None:
    assert len(TRICKS) >= MIN_TRICKS
    assert len({t.url for t in TRICKS}) == len(TRICKS)
    assert {t.expect for t in TRICKS} == set(Expect)


@pytest.mark.parametrize("trick", TRICKS, ids=trick_id)
@pytest.mark.parametrize("purpose", list(Purpose))
async def test_production_verdict(trick: Trick, purpose: Purpose) -> None:
    decision = await decide(trick.url, Mode.PRODUCTION, resolve, purpose)
    if trick.expect is Expect.ALLOWED:
        assert decision.allowed, decision.reason
        assert decision.target is not None
        if trick.detail:
            assert decision.target.url == trick.detail
        # The connection may only go to addresses that were judged deliverable.
        assert decision.addresses
        for address in decision.addresses:
            assert refusal(ipaddress.ip_address(address)) is None
    else:
        assert not decision.allowed
        assert decision.addresses == ()
        assert trick.detail in decision.reason, decision.reason
        assert decision.attempt_error.startswith(("blocked: ", "dns error: "))


@pytest.mark.parametrize("trick", TRICKS, ids=trick_id)
async def test_development_mode_allows_all_but_malformed_urls(trick: Trick) -> None:
    """Local testing: loopback, private addresses and http:// are fine; no DNS when saving."""

    async def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError(f"saving in development mode resolved {host}")

    decision = await decide(trick.url, Mode.DEVELOPMENT, no_dns, Purpose.SAVE)
    assert decision.allowed is (trick.expect is not Expect.ALWAYS_REFUSED), decision.reason


@pytest.mark.parametrize(
    "trick", [t for t in TRICKS if t.expect is not Expect.ALWAYS_REFUSED], ids=trick_id
)
async def test_the_client_reads_the_normal_form_as_the_guard_does(trick: Trick) -> None:
    """The URL handed to aiohttp (yarl) names the host and port the guard checked."""
    decision = await decide(trick.url, Mode.DEVELOPMENT, resolve, Purpose.SEND)
    if decision.verdict is Verdict.UNRESOLVED:
        return
    assert decision.target is not None, decision.reason
    parsed = URL(decision.target.url)
    assert (parsed.raw_host, parsed.port) == (decision.target.host, decision.target.port)
    assert decision.target.host.isascii() and decision.target.host == decision.target.host.lower()


async def test_sending_pins_the_resolved_addresses() -> None:
    decision = await decide("https://mixed.example/x", Mode.DEVELOPMENT, resolve, Purpose.SEND)
    assert decision.addresses == ("93.184.215.14", "10.0.0.1")
    literal = await decide("http://0x7f.1:3000/x", Mode.DEVELOPMENT, resolve, Purpose.SEND)
    assert literal.addresses == ("127.0.0.1",)
    assert literal.target is not None and literal.target.url == "http://127.0.0.1:3000/x"


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://１２７.０.０.１:8443/a?b=c", "https://127.0.0.1:8443/a?b=c"),  # noqa: RUF001
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://017700000001/", "http://127.0.0.1/"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://127.1:80/", "http://127.0.0.1/"),
        ("https://[0::FFFF:127.0.0.1]/", "https://[::ffff:7f00:1]/"),
        ("https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ./x", "https://localhost/x"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com?q", "https://example.com/?q"),
    ],
)
async def test_normal_form(url: str, normal: str) -> None:
    decision = await decide(url, Mode.DEVELOPMENT, resolve, Purpose.SAVE)
    assert decision.target is not None and decision.target.url == normal


async def test_saving_raises_a_400_naming_the_field() -> None:
    with pytest.raises(InvalidRequestError) as info:
        await validate_webhook_url("https://a..b/", Mode.PRODUCTION, resolve, field="url")
    assert info.value.field == "url" and "Empty Label" in info.value.message
    with pytest.raises(InvalidRequestError, match="string"):
        await validate_webhook_url(["https://x/"], Mode.DEVELOPMENT, resolve)
    await validate_webhook_url("https://public.example/", Mode.PRODUCTION, resolve)


async def test_answers_are_cached_for_their_ttl_and_failures_are_not() -> None:
    calls: list[str] = []
    answers = {"a.example": ["93.184.215.14"]}

    async def counting(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    cached = CachingResolve(counting, ttl_s=3600)
    assert await cached("a.example", 443) == ["93.184.215.14"]
    answers["a.example"] = ["10.0.0.1"]
    assert await cached("a.example", 443) == ["93.184.215.14"]
    for _ in range(2):
        with pytest.raises(OSError):
            await cached("b.example", 443)
    assert calls == ["a.example", "b.example", "b.example"]
    fresh = CachingResolve(counting, ttl_s=0)
    assert await fresh("a.example", 443) == ["10.0.0.1"]
    assert await fresh("a.example", 443) == ["10.0.0.1"]
    assert calls.count("a.example") == 3
