"""`secrets reencrypt`: move every stored webhook secret under the encryption key ring's first
key, online (the service keeps running and signing), in batches, reporting its progress. An
operator command: it works on the database directly, with the ring of
PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS (docs/security.md, rotating the encryption key)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from promptha_webhooks.cli.context import output_of
from promptha_webhooks.cli.environment import ensure_key_ring, load_settings, migrate_database
from promptha_webhooks.cli.errors import EXIT_FAILURE

PANEL = "Operators (direct database access)"
MAX_BATCH_SIZE = 10_000

secrets_app = typer.Typer(
    help=(
        "Webhook signing secrets at rest (operators).\n\n"
        "Example: promptha-webhooks secrets reencrypt"
    ),
    no_args_is_help=True,
)


@secrets_app.command("reencrypt")
def reencrypt(
    ctx: typer.Context,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Rows per transaction", min=1, max=MAX_BATCH_SIZE)
    ] = 200,
) -> None:
    """Re-encrypt every webhook secret with the first key of PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS
    (and seal any still stored in plaintext), while the service runs.

    Rows whose secrets do not decrypt with any key of the ring are listed and left as they
    are (exit code 1). Run it after putting a new key first; then the old key can go.

    Example:
      export PROMPTHA_WEBHOOKS_ENCRYPTION_KEYS=k2:<new key>,k1:<old key>
      promptha-webhooks secrets reencrypt
    """
    from promptha_webhooks.store import create_database
    from promptha_webhooks.store.secret_sealing import (
        ResealProgress,
        ResealRequest,
        reseal,
        rows_to_reseal,
    )

    output = output_of(ctx)
    settings = ensure_key_ring(load_settings())
    migrate_database(settings)
    primary = settings.key_ring().primary_key_id
    request = ResealRequest(batch_size=batch_size)

    async def run() -> ResealProgress:
        database = create_database(settings.database_url, settings.key_ring())
        try:
            shown = 0
            total = await rows_to_reseal(database, request)
            with output.progress(f"Re-encrypting with key {primary}", total) as advance:

                def on_batch(progress: ResealProgress) -> None:
                    nonlocal shown
                    for _ in range(progress.seen - shown):
                        advance()
                    shown = progress.seen
                    if not output.err.is_terminal:
                        output.note(
                            f"{progress.seen} of {progress.total} webhooks looked at, "
                            f"{progress.moved} re-encrypted"
                        )

                return await reseal(database, request, on_batch)
        finally:
            await database.dispose()

    done = asyncio.run(run())
    if output.json_mode:
        output.json(
            {
                "keyId": primary,
                "total": done.total,
                "reencrypted": done.moved,
                "unreadable": list(done.unreadable),
            }
        )
    else:
        output.show(
            f"{done.moved} of {done.total} webhooks re-encrypted with key {primary}"
            + (f"; {len(done.unreadable)} do not decrypt" if done.unreadable else "")
        )
    if done.unreadable:
        output.error(
            "these webhooks' secrets do not decrypt with any key of the ring (left as they are): "
            + ", ".join(done.unreadable)
        )
        raise typer.Exit(EXIT_FAILURE)


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets", rich_help_panel=PANEL)
