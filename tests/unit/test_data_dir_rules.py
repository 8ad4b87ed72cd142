"""cli/data_dir.py: the data directory and the default database, never from the current
directory: PROMPTHA_WEBHOOKS_DATA_DIR, else beside the SQLite file of the database URL, else
the XDG per-user directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptha_webhooks.cli.data_dir import locate, sqlite_file

HOME = Path("/home/ada")


def test_default_is_the_per_user_directory() -> None:
    found = locate({}, HOME)
    assert found.directory == HOME / ".local/share/promptha-webhooks"
    assert (
        found.database_url
        == "sqlite:////home/ada/.local/share/promptha-webhooks/promptha-webhooks.db"
    )


def test_xdg_data_home_when_absolute() -> None:
    found = locate({"XDG_DATA_HOME": "/srv/xdg"}, HOME)
    assert found.directory == Path("/srv/xdg/promptha-webhooks")
    # The XDG spec: a relative value is invalid and ignored.
    assert locate({"XDG_DATA_HOME": "rel/xdg"}, HOME).directory == locate({}, HOME).directory


def test_the_data_dir_variable_wins() -> None:
    env = {
        "PROMPTHA_WEBHOOKS_DATA_DIR": "/var/lib/pw",
        "PROMPTHA_WEBHOOKS_DATABASE_URL": "sqlite:////elsewhere/x.db",
        "XDG_DATA_HOME": "/srv/xdg",
    }
    found = locate(env, HOME)
    assert found.directory == Path("/var/lib/pw")
    assert found.database_url == "sqlite:////elsewhere/x.db"  # the URL is kept as given
    only_dir = locate({"PROMPTHA_WEBHOOKS_DATA_DIR": "/var/lib/pw"}, HOME)
    assert only_dir.database_url == "sqlite:////var/lib/pw/promptha-webhooks.db"


def test_beside_the_sqlite_file_of_the_url() -> None:
    found = locate({"PROMPTHA_WEBHOOKS_DATABASE_URL": "sqlite:////data/app/pw.db?timeout=5"}, HOME)
    assert found.directory == Path("/data/app")


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1/test", "sqlite:///:memory:", "sqlite:///file:x?uri=true"],
)
def test_no_sqlite_file_means_the_per_user_directory(url: str) -> None:
    found = locate({"PROMPTHA_WEBHOOKS_DATABASE_URL": url}, HOME)
    assert found.directory == HOME / ".local/share/promptha-webhooks"
    assert found.database_url == url


def test_relative_paths_given_explicitly_are_made_absolute_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = locate({"PROMPTHA_WEBHOOKS_DATA_DIR": "state"}, HOME)
    assert found.directory == tmp_path / "state" and found.directory.is_absolute()
    assert sqlite_file("sqlite:///~/pw.db") == Path("~/pw.db").expanduser()
