"""On SQLite the `webhooks_version` triggers of migration 0015 survive every later migration,
both ways. A migration that makes Alembic rebuild `webhooks` (batch mode) drops them with the
old table: the fan-out cache would then serve a stale route table, and a downgrade through 0015
fails on `DROP TRIGGER`. Walk head → 0015 one revision at a time and back up, checking the
triggers at each step and that the chain still goes all the way down."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from promptha_webhooks.store.database import alembic_config, migrate_sync

from support import sync_connection

TRIGGERS = {
    "webhooks_version_on_insert",
    "webhooks_version_on_delete",
    "webhooks_version_on_update",
}


def _triggers(url: str) -> set[str]:
    with sync_connection(url) as conn:
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        return {row[0] for row in rows}


def _revisions_after_0015(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    newest_first = [rev.revision for rev in script.walk_revisions()]
    return newest_first[: newest_first.index("0015")]


def test_the_triggers_survive_each_later_migration_down_and_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'promptha.db'}"
    migrate_sync(url)
    config = alembic_config(url)
    later = _revisions_after_0015(url)
    assert later, "no migration after 0015 to check"
    for revision in later:
        command.downgrade(config, "-1")
        assert _triggers(url) >= TRIGGERS, f"downgrading {revision} dropped the triggers"
    command.upgrade(config, "head")
    assert _triggers(url) >= TRIGGERS, "upgrading to head dropped the triggers"
    command.downgrade(config, "base")
    assert _triggers(url) == set()
