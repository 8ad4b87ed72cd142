"""The service under test as a real process: `promptha-webhooks serve [--no-dispatcher]` or
`worker`, configured only through PROMPTHA_WEBHOOKS_* variables, logging to the run's folder.

Also reads the process's peak RSS (VmHWM) and, with `--profile DIR`, attaches py-spy to it
(collapsed stacks, one file per process, for flame graphs or grep).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import time
from pathlib import Path

import aiohttp

from bench.common import ADMIN_KEY, CLI, ENCRYPTION_KEYS, ROOT, Context, free_port, log

ENV_PREFIX = "PROMPTHA_WEBHOOKS_"
# The configuration every benchmark runs with (documented in docs/performance.md): the
# service's defaults (MAX_IN_FLIGHT 512, PER_WEBHOOK_CONCURRENCY 10, the delivery timeout,
# retry schedule, lease, poll interval, claim batch), except development mode, which lets
# webhooks point at 127.0.0.1 over http://, and a short shutdown grace, which only shortens
# the stop at the end of a run.
SHUTDOWN_GRACE_S = 2
# py-spy pauses the process for each sample (consistent stacks); 100 Hz costs a few percent.
PROFILE_RATE_HZ = 100
WORKER_READY_FALLBACK_S = 20.0
_WORKER_READY = re.compile(r"worker \S+ running")


class ServiceProcess:
    def __init__(
        self,
        ctx: Context,
        name: str,
        database_url: str,
        command: str,
        *args: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.command = command
        self.args = args
        self.port = free_port()
        self.log_path = ctx.work_dir / f"{name}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        self.env.update(
            {
                ENV_PREFIX + "DATABASE_URL": database_url,
                ENV_PREFIX + "MODE": "development",
                ENV_PREFIX + "ADMIN_KEY": ADMIN_KEY,
                ENV_PREFIX + "ENCRYPTION_KEYS": ENCRYPTION_KEYS,
                ENV_PREFIX + "PORT": str(self.port),
                ENV_PREFIX + "SHUTDOWN_GRACE": str(SHUTDOWN_GRACE_S),
            }
        )
        self.env.update({ENV_PREFIX + k: v for k, v in (env or {}).items()})
        self._process: asyncio.subprocess.Process | None = None
        self._profiler: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self, ready_timeout: float = 60) -> None:
        with self.log_path.open("ab") as log_file:
            self._process = await asyncio.create_subprocess_exec(
                CLI,
                self.command,
                *self.args,
                cwd=ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        self.started_at = time.monotonic()
        await self._wait_ready(ready_timeout)
        if self.ctx.options.profile_dir is not None:
            await self._start_profiler(self.ctx.options.profile_dir)

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
                if self.command == "serve":
                    try:
                        async with session.get(self.url + "/healthz") as response:
                            if response.status == 200:
                                return
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                elif _WORKER_READY.search(self.log_path.read_text(errors="replace")):
                    return
                elif time.monotonic() - self.started_at > WORKER_READY_FALLBACK_S:
                    log(f"{self.name}: no 'worker … running' line yet; going on (it is alive)")
                    return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout:g} s:\n{self.log_tail()}")

    async def _start_profiler(self, folder: Path) -> None:
        py_spy = shutil.which("py-spy", path=str(Path(CLI).parent)) or shutil.which("py-spy")
        if py_spy is None:
            log("--profile: py-spy not found (.venv/bin/pip install py-spy); not profiling")
            return
        folder.mkdir(parents=True, exist_ok=True)
        self._profiler = await asyncio.create_subprocess_exec(
            py_spy,
            "record",
            "--pid",
            str(self.pid),
            "--rate",
            str(PROFILE_RATE_HZ),
            "--format",
            "raw",
            "--output",
            str(folder / f"{self.name}.txt"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process has used so far (from /proc), in seconds."""
        if not self.alive:
            return None
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float | None:
        """VmHWM of the process (peak resident set), in MiB."""
        if not self.alive:
            return None
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    async def stop(self, timeout: float = 30) -> None:
        if self._profiler is not None and self._profiler.returncode is None:
            self._profiler.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self._profiler.wait(), 30)
            except TimeoutError:
                self._profiler.kill()
                await self._profiler.wait()
        self._profiler = None
        if self._process is None:
            return
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), timeout)
            except TimeoutError:
                log(f"{self.name} did not stop within {timeout:g} s; killing it")
                self._process.kill()
                await self._process.wait()
        self._process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
