"""The portal's pure parts: PROMPTHA_WEBHOOKS_PORTAL_ORIGINS parsing (its values go into a CSP
header as they are), the theme's text colour (WCAG contrast for any primary colour), the
security headers with and without framing origins, and which pages are the operators'."""

from __future__ import annotations

import pytest

from promptha_webhooks.config import ConfigError, Settings
from promptha_webhooks.dashboard.dependencies import is_operator_page
from promptha_webhooks.dashboard.rendering import security_headers
from promptha_webhooks.dashboard.theme import contrast_ratio, ink_on, stylesheet
from promptha_webhooks.portal import PortalTheme

ORIGINS = "PROMPTHA_WEBHOOKS_PORTAL_ORIGINS"


def test_portal_origins_parse() -> None:
    settings = Settings.from_env(
        {ORIGINS: " https://App.Example.com/ , http://127.0.0.2:9000,https://[::1]:8443,"}
    )
    assert settings.portal_origins == (
        "https://app.example.com",
        "http://127.0.0.2:9000",
        "https://[::1]:8443",
    )
    assert Settings.from_env({}).portal_origins == ()


@pytest.mark.parametrize(
    "value",
    [
        "http://app.example.com",  # http only for loopback
        "https://*.example.com",
        "https://app.example.com/settings",
        "https://app.example.com?x=1",
        "https://user@app.example.com",
        "https://app.example.com:99999",
        "https://app.example.com;script-src",
        "https://app.example.com 'unsafe-inline'",
        "https://app.example.com'",
        "ftp://app.example.com",
        "app.example.com",
        "https://\ud800.example.com",
        "https://" + "a" * 70_000,
    ],
)
def test_portal_origins_refusals(value: str) -> None:
    with pytest.raises(ConfigError, match=ORIGINS):
        Settings.from_env({ORIGINS: value})


def test_ink_on_any_primary_colour_passes_aa() -> None:
    steps = ("00", "33", "66", "80", "99", "cc", "ff")
    for r in steps:
        for g in steps:
            for b in steps:
                colour = f"#{r}{g}{b}"
                assert contrast_ratio(colour, ink_on(colour)) >= 4.5, colour
    assert ink_on("#ffcc00") == "#000000" and ink_on("#1e3a8a") == "#ffffff"


def test_stylesheet() -> None:
    assert "--brand" not in stylesheet(PortalTheme())
    css = stylesheet(PortalTheme(primary_color="#0a7d4f"))
    assert "--brand: #0a7d4f; --brand-ink: #ffffff;" in css


def test_security_headers_follow_the_portal_origins() -> None:
    closed = security_headers()
    assert "frame-ancestors 'none'" in closed["Content-Security-Policy"]
    assert closed["X-Frame-Options"] == "DENY"
    framed = security_headers(("https://app.example.com",))
    assert "frame-ancestors 'self' https://app.example.com;" in framed["Content-Security-Policy"]
    assert "X-Frame-Options" not in framed


def test_operator_pages() -> None:
    assert is_operator_page("/monitoring") and is_operator_page("/keys/key_1/revoke")
    assert not is_operator_page("/webhooks") and not is_operator_page("/keysmith")
