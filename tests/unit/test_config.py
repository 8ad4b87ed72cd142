"""Settings from PROMPTHA_WEBHOOKS_* variables: defaults, parsing and refusals."""

from __future__ import annotations

import pytest

from promptha_webhooks.config import ConfigError, Mode, Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.mode is Mode.PRODUCTION
    assert settings.retry_schedule_s == (0, 5, 30, 300, 1800, 7200)
    assert settings.max_attempts == 6
    assert settings.delivery_timeout_s == 30
    assert settings.port == 8000
    assert settings.database_url.startswith("sqlite:///")


def test_from_env() -> None:
    settings = Settings.from_env(
        {
            "PROMPTHA_WEBHOOKS_MODE": "Development",
            "PROMPTHA_WEBHOOKS_PORT": "9000",
            "PROMPTHA_WEBHOOKS_RETRY_SCHEDULE": "0,1,2",
            "PROMPTHA_WEBHOOKS_ADMIN_KEY": "x" * 20,
            "PROMPTHA_WEBHOOKS_DATABASE_URL": "postgresql://postgres@127.0.0.1/test",
        }
    )
    assert settings.mode is Mode.DEVELOPMENT and settings.port == 9000
    assert settings.retry_schedule_s == (0, 1, 2) and settings.max_attempts == 3
    assert "x" * 20 not in repr(settings)  # the admin key never shows in logs


@pytest.mark.parametrize(
    "env",
    [
        {"PROMPTHA_WEBHOOKS_PORT": "http"},
        {"PROMPTHA_WEBHOOKS_PORT": "70000"},
        {"PROMPTHA_WEBHOOKS_MODE": "staging"},
        {"PROMPTHA_WEBHOOKS_RETRY_SCHEDULE": "0,-5"},
        {"PROMPTHA_WEBHOOKS_ADMIN_KEY": "short"},
        {"PROMPTHA_WEBHOOKS_LEASE": "10"},
        {"PROMPTHA_WEBHOOKS_MAX_IN_FLIGHT": "0"},
    ],
)
def test_refusals(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_batch_body_limit() -> None:
    assert Settings.from_env({}).max_batch_body_bytes == 16 * 1024 * 1024
    settings = Settings.from_env({"PROMPTHA_WEBHOOKS_MAX_BATCH_BODY_BYTES": "1048576"})
    assert settings.max_batch_body_bytes == 1024 * 1024
    # A batch must hold at least one event of the largest size (256 KiB).
    with pytest.raises(ConfigError, match="MAX_BATCH_BODY_BYTES"):
        Settings.from_env({"PROMPTHA_WEBHOOKS_MAX_BATCH_BODY_BYTES": "1000"})
    with pytest.raises(ConfigError):
        Settings.from_env({"PROMPTHA_WEBHOOKS_MAX_BATCH_BODY_BYTES": "16M"})
