"""Why the dispatcher sends a batch of results to PostgreSQL as JSON (`python -m
bench.record_encoding`): this process's CPU per result row to pass 500 rows as the 22 typed
arrays the record statement once took (unnest) versus as two JSON documents (json_to_recordset),
over the same asyncpg connection. The statement only counts what it receives, so the figure is
the client's encoding and the round trip, not the writes. Prints one line per repetition.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import orjson

from bench.common import PG_ADMIN_DSN

ROWS = 500
CALLS = 100
ATTEMPT = {
    "id": "att_06H1RK6BHTBDBRWW8S4AYWQJNG",
    "delivery_id": "dlv_06H1RK6BHTBDBRWW8S4AYWQJNG",
    "number": 1,
    "trigger": "scheduled",
    "url": "https://example.com/hooks/promptha",
    "request_headers": '{"Content-Type":"application/json","x-promptha-attempt":"1"}',
    "response_status": 200,
    "response_headers": '{"content-type":"text/plain; charset=utf-8","content-length":"2"}',
    "response_body": "ok",
    "duration_ms": 1.234,
    "error": None,
    "outcome": "delivered",
    "started_at": 1_764_000_000_000,
    "finished_at": 1_764_000_000_001,
    "webhook_id": "wh_06H1RK6BHTBDBRWW8S4AYWQJNG",
}
UPDATE = {
    "b_id": "dlv_06H1RK6BHTBDBRWW8S4AYWQJNG",
    "b_token": "1234-abcdef012345",
    "b_status": "delivered",
    "b_count": 1,
    "b_next": None,
    "b_code": 200,
    "b_error": None,
    "b_now": 1_764_000_000_001,
}
ARRAY_TYPES = [
    "varchar",
    "varchar",
    "int",
    "varchar",
    "text",
    "text",
    "int",
    "text",
    "text",
    "float8",
    "text",
    "varchar",
    "bigint",
    "bigint",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "int",
    "bigint",
    "int",
    "text",
]
ARRAYS_SQL = "SELECT " + " + ".join(
    f"cardinality(${i}::{kind}[])" for i, kind in enumerate(ARRAY_TYPES, start=1)
)
JSON_SQL = "SELECT json_array_length($1::json) + json_array_length($2::json)"


def _arrays(rows: list[dict[str, Any]], updates: list[dict[str, Any]]) -> list[list[Any]]:
    columns = [[row[c] for row in rows] for c in ATTEMPT]
    return columns + [[u[c] for u in updates] for c in list(UPDATE)[:7]]


async def main() -> None:
    rows = [dict(ATTEMPT, id=f"att_{i:026d}") for i in range(ROWS)]
    updates = [dict(UPDATE, b_id=f"dlv_{i:026d}") for i in range(ROWS)]
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for _ in range(3):
            started = time.process_time()
            for _ in range(CALLS):
                await connection.fetchval(ARRAYS_SQL, *_arrays(rows, updates))
            arrays = (time.process_time() - started) / CALLS / ROWS * 1e6
            started = time.process_time()
            for _ in range(CALLS):
                await connection.fetchval(
                    JSON_SQL, orjson.dumps(rows).decode(), orjson.dumps(updates).decode()
                )
            as_json = (time.process_time() - started) / CALLS / ROWS * 1e6
            print(f"client CPU per result row: arrays {arrays:.2f} µs, JSON {as_json:.2f} µs")
    finally:
        await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
