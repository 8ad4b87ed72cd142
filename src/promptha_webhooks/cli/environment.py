"""The service's side of the command: Settings from the environment, migrations, logging.

Only the commands that run the service or touch its database directly (serve, worker, migrate,
accounts create, keys create) use this; this is where the process environment is read for them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from promptha_webhooks.cli.data_dir import DATA_DIR_ENV, DATABASE_URL_ENV, locate
from promptha_webhooks.config import DEFAULT_DATABASE_URL, ENV_PREFIX, ConfigError, Mode, Settings
from promptha_webhooks.egress import list_version, published_addresses, unassigned
from promptha_webhooks.errors import ServiceUnavailableError
from promptha_webhooks.private_files import private_directory, read_private_file, write_private_file
from promptha_webhooks.secret_box import development_key_ring, require_key_ring

if TYPE_CHECKING:
    from promptha_webhooks.store import Database

SESSION_SECRET_FILE = "session-secret"
# The published egress list's version and when this data directory first saw it (updatedAt).
EGRESS_SEEN_FILE = "egress-list"
SESSION_SECRET_BYTES = 32

err_console = Console(stderr=True)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with the data directory and the database URL found
    the same way wherever the command runs (cli/data_dir.py)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        try:
            home = Path.home()
        except RuntimeError:
            raise ConfigError(f"no home directory: set {DATA_DIR_ENV}") from None
        location = locate(os.environ, home)
        return Settings.from_env(
            None, database_url=location.database_url, data_dir=location.directory, **given
        )
    except ConfigError as exc:
        err_console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def configure_logging(settings: Settings) -> None:
    """JSON lines in production, readable lines in development (PROMPTHA_WEBHOOKS_LOG_FORMAT)."""
    from promptha_webhooks import logs

    logs.configure(settings.effective_log_format, logging.INFO)


def install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return
    uvloop.install()


def migrate_database(settings: Settings) -> None:
    """Bring the schema up to date: the first thing every command that works on the database
    does, so a database it cannot reach is reported here, naming it (one line: cli/errors.py)."""
    from sqlalchemy.engine import make_url

    from promptha_webhooks.store.database import migrate_sync
    from promptha_webhooks.store.errors import StoreFailure, store_failures

    try:
        with store_failures():
            migrate_sync(settings.database_url)
    except (OSError, StoreFailure) as exc:
        reason = exc.reason if isinstance(exc, StoreFailure) else exc
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        first_line = (str(reason).strip() or type(reason).__name__).splitlines()[0]
        raise ServiceUnavailableError(
            f"Cannot use the database {where} (PROMPTHA_WEBHOOKS_DATABASE_URL): {first_line}"
        ) from exc


def _secret_dir(settings: Settings) -> Path:
    """The data directory load_settings found (cli/data_dir.py)."""
    if settings.data_dir is None:  # Settings not made by load_settings: the same rule, with
        # the settings' own database URL (a SQLite file's directory) before the environment's
        env = dict(os.environ)
        if settings.database_url != DEFAULT_DATABASE_URL:
            env[DATABASE_URL_ENV] = settings.database_url
        return locate(env, Path.home()).directory
    return settings.data_dir


def ensure_session_secret(settings: Settings) -> Settings:
    """Settings with a dashboard session secret: PROMPTHA_WEBHOOKS_SESSION_SECRET, else one
    generated on first start and kept (0600, in a 0700 directory: private_files.py) so
    sessions survive restarts."""
    if settings.session_secret is not None:
        return settings
    path = _secret_dir(settings) / SESSION_SECRET_FILE
    private_directory(path.parent)
    secret = (read_private_file(path) or "").strip()
    if len(secret) < 32:
        secret = secrets.token_urlsafe(SESSION_SECRET_BYTES)
        write_private_file(path, secret + "\n")
    return settings.replace(session_secret=secret)


def ensure_key_ring(settings: Settings) -> Settings:
    """Settings with the key ring webhook secrets are sealed with:
    PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS; else in development one generated on first start and
    kept beside the database (0600: `encryption-keys`, secret_box.py); in production none is
    made up: KeyRingError, one line (cli/errors.py), and the command stops before touching the
    database."""
    if settings.encryption_keys is not None:
        return settings
    if settings.mode is Mode.DEVELOPMENT:
        keys = development_key_ring(None, _secret_dir(settings))
    else:
        keys = require_key_ring(None)
    return settings.replace(encryption_keys=keys)


async def seal_plaintext_secrets(database: Database) -> None:
    """Start-up: seal the webhook secrets stored before encryption at rest (an upgrade), in
    batches; nothing to do (one indexed count) on every later start."""
    from promptha_webhooks.store.secret_sealing import ResealRequest, reseal

    done = await reseal(database, ResealRequest(plaintext_only=True))
    if done.moved:
        logging.getLogger(__name__).info(
            "sealed the signing secrets of %d webhooks stored before encryption at rest",
            done.moved,
        )


def check_source_addresses(settings: Settings) -> None:
    """Start-up of a process that delivers: refuse, in one line (exit 2, as a configuration
    error), a source address this host does not have: no delivery could be sent from it."""
    missing = unassigned(settings.source_addresses)
    if missing:
        names = ", ".join(str(address) for address in missing)
        err_console.print(
            f"[red]Configuration error:[/red] {ENV_PREFIX}SOURCE_ADDRESSES: {names} is not "
            "assigned to this host (no interface has it)",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(2)


def ensure_egress_updated_at(settings: Settings) -> Settings:
    """Settings whose published egress list has an updatedAt: PROMPTHA_WEBHOOKS_EGRESS_UPDATED_AT,
    else the time this data directory first saw the list's version (kept in `egress-list`,
    moved on when the list changes; no file while nothing is published). Several API nodes
    should set the variable, so that they agree; their version and ETag agree anyway (a hash of
    the list)."""
    addresses = published_addresses(settings.egress_cidrs, settings.source_addresses)
    if settings.egress_updated_at is not None or not addresses:
        return settings  # set, or nothing published: no file to keep
    version = list_version(addresses)
    path = _secret_dir(settings) / EGRESS_SEEN_FILE
    seen = _read_seen(path)
    if seen is not None and seen[0] == version:
        return settings.replace(egress_updated_at=seen[1])
    now = datetime.now(UTC).replace(microsecond=0)
    private_directory(path.parent)
    record = {"version": version, "updatedAt": now.isoformat()}
    write_private_file(path, json.dumps(record) + "\n")
    return settings.replace(egress_updated_at=now)


def _read_seen(path: Path) -> tuple[str, datetime] | None:
    try:
        record = json.loads(read_private_file(path) or "null")
        seen = (str(record["version"]), datetime.fromisoformat(str(record["updatedAt"])))
    except (ValueError, TypeError, KeyError):
        return None  # missing or damaged: the list is taken as new
    return seen if seen[1].tzinfo is not None else None
