"""Monitoring settings from PROMPTHA_WEBHOOKS_* variables."""

from __future__ import annotations

import pytest

from promptha_webhooks.config import ConfigError, LogFormat, Settings

P = "PROMPTHA_WEBHOOKS_"


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.auto_disable_after_s == 3 * 24 * 3600
    assert settings.auto_disable_min_failed_deliveries == 10
    assert settings.retention_s == 30 * 24 * 3600
    assert settings.alert_email_to == ()
    assert settings.log_format is None and settings.metrics_port == 0


def test_from_env() -> None:
    settings = Settings.from_env(
        {
            P + "AUTO_DISABLE_AFTER": "3600",
            P + "AUTO_DISABLE_MIN_FAILURES": "4",
            P + "RETENTION_DAYS": "7",
            P + "RETENTION_INTERVAL": "60",
            P + "RETENTION_BATCH_SIZE": "500",
            P + "ALERT_EMAIL_TO": "ops@example.com, oncall@example.com",
            P + "ALERT_EMAIL_FROM": "hooks@example.com",
            P + "SMTP_HOST": "mail.example.com",
            P + "SMTP_PORT": "2525",
            P + "SMTP_USERNAME": "user",
            P + "SMTP_PASSWORD": "secret-password",
            P + "SMTP_STARTTLS": "true",
            P + "LOG_FORMAT": "TEXT",
            P + "METRICS_PORT": "9464",
        }
    )
    assert settings.auto_disable_after_s == 3600
    assert settings.auto_disable_min_failed_deliveries == 4
    assert settings.retention_s == 7 * 24 * 3600
    assert settings.retention_interval_s == 60 and settings.retention_batch_size == 500
    assert settings.alert_email_to == ("ops@example.com", "oncall@example.com")
    assert settings.smtp_host == "mail.example.com" and settings.smtp_port == 2525
    assert settings.smtp_starttls is True
    assert settings.log_format is LogFormat.TEXT and settings.metrics_port == 9464
    assert "secret-password" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTO_DISABLE_AFTER", "0"),
        ("AUTO_DISABLE_MIN_FAILURES", "0"),
        ("AUTO_DISABLE_AFTER", "soon"),
        ("RETENTION_DAYS", "-1"),
        ("RETENTION_BATCH_SIZE", "0"),
        ("SMTP_STARTTLS", "maybe"),
        ("LOG_FORMAT", "xml"),
        ("METRICS_PORT", "70000"),
        ("ALERT_EMAIL_TO", "ops@example.com"),  # without SMTP_HOST
    ],
)
def test_bad_values(name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({P + name: value})
