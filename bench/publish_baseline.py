"""The publish baseline: the HTTP ceiling of one API process on this machine
(`python -m bench.publish_baseline --port P`). uvicorn with httptools on uvloop, as `serve`
runs it, serving a bare ASGI app that reads the body, parses it with orjson and answers 201
with a small JSON object holding it. It has no database, no validation and no framework. The
publish benchmark drives it with the same load generator and clients as the service, in the
same run, so the service's publish rates have a ratio on a host whose speed varies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from bench.common import PYTHON, ROOT, free_port

READY_TIMEOUT_S = 30.0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    document = orjson.loads(body)
    payload = orjson.dumps({"object": "event", "id": "evt_" + "0" * 26, "data": document})
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


@contextlib.asynccontextmanager
async def baseline_server() -> AsyncIterator[tuple[str, int]]:
    """The baseline app in a process of its own: yields (base URL, pid)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.publish_baseline",
        "--port",
        str(port),
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("the publish baseline server did not start") from None
                await asyncio.sleep(0.1)
            else:
                writer.close()
                break
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
