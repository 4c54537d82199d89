"""Run the real ``auction-platform`` command as a child process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import IO

import httpx

from support.servers import TEST_POOL_SIZE, TEST_POOL_TIMEOUT

COMMAND = [sys.executable, "-m", "auction_platform"]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child: ours, minus settings that would leak into it.

    A served child gets the tests' small pool (``DB_POOL_SIZE``, ``DB_POOL_TIMEOUT``)
    unless ``extra`` says otherwise.
    """
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL")}
    env["DB_POOL_SIZE"] = str(TEST_POOL_SIZE)
    env["DB_POOL_TIMEOUT"] = str(TEST_POOL_TIMEOUT)
    env.update(extra)
    return env


async def run_command(*args: str, env: Mapping[str, str], cwd: Path | None = None) -> str:
    """Run the command to completion; returns its output, raises on a non-zero exit."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    text = output.decode()
    if process.returncode != 0:
        raise AssertionError(f"{args} exited {process.returncode}:\n{text}")
    return text


class Child:
    """A running server process and its base URL.

    Its output is kept in ``output`` once it stops, or, when it was started with a
    ``log`` file, appended to that file as it goes (a busy server fills a pipe nobody
    reads, and then blocks writing its logs).
    """

    def __init__(
        self,
        args: tuple[str, ...],
        *,
        port: int,
        env: Mapping[str, str],
        cwd: Path | None = None,
        log: Path | None = None,
    ) -> None:
        self.args = args
        self.port = port
        self.env = dict(env)
        self.cwd = cwd
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.output = ""
        self._process: asyncio.subprocess.Process | None = None

    @property
    def spawned(self) -> bool:
        """Whether a process was ever started."""
        return self._process is not None

    @property
    def process(self) -> asyncio.subprocess.Process:
        """The process now serving (a new one after another ``spawn``)."""
        assert self._process is not None, "not spawned"
        return self._process

    async def spawn(self) -> None:
        """Start the process (again, after it stopped: the same command, port and settings)."""
        with contextlib.ExitStack() as files:
            output: int | IO[bytes] = asyncio.subprocess.PIPE
            if self.log is not None:
                output = files.enter_context(self.log.open("ab"))
            self._process = await asyncio.create_subprocess_exec(
                *COMMAND,
                *self.args,
                "--port",
                str(self.port),
                env=self.env,
                cwd=self.cwd,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def until_ready(self, ready_path: str = "/health/live", timeout: float = 120) -> None:
        """Wait until ``ready_path`` answers below 500; fail if the process exits first.

        ``timeout`` is a deadline for a loaded machine, not a measure: how fast the
        platform gets ready is measured by ``benchmarks/startup.py``.
        """
        process = self.process
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if process.returncode is not None:
                    raise AssertionError(f"{self.args} exited early:\n{await self._rest()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(self.url + ready_path)).status_code < 500:
                        return
                if loop.time() > deadline:
                    raise AssertionError(
                        f"{self.args}: {ready_path} did not answer below 500 within {timeout}s"
                    )
                await asyncio.sleep(0.1)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``sig`` and wait for the exit code (a deadline for the graceful stop)."""
        process = self.process
        if process.returncode is None:
            process.send_signal(sig)
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
        self.output += out.decode() if out else ""
        assert process.returncode is not None
        return process.returncode

    async def kill(self) -> None:
        """``kill -9``: no shutdown, no flush, whatever was in flight is cut off."""
        await self.stop(signal.SIGKILL)

    async def _rest(self) -> str:
        if self.log is not None:
            return self.log.read_text(errors="replace")[-20_000:]
        stdout = self.process.stdout
        return (await stdout.read()).decode(errors="replace") if stdout else ""


@contextlib.asynccontextmanager
async def started(
    *args: str,
    port: int,
    env: Mapping[str, str],
    cwd: Path | None = None,
    ready_path: str = "/health/live",
    timeout: float = 120,
    log: Path | None = None,
) -> AsyncIterator[Child]:
    """Start a server process and wait until ``ready_path`` answers (``Child.until_ready``).

    Whatever the process is at the end (a respawned one too), it is killed if it still runs.
    """
    child = Child(args, port=port, env=env, cwd=cwd, log=log)
    async with all_started({child: ready_path}, timeout=timeout):
        yield child


@contextlib.asynccontextmanager
async def all_started(
    ready_paths: Mapping[Child, str], timeout: float = 120
) -> AsyncIterator[None]:
    """Start several server processes at once, then wait until each answers its ready path.

    Those still running at the end are killed.
    """
    try:
        for child in ready_paths:
            await child.spawn()
        await asyncio.gather(
            *(child.until_ready(path, timeout) for child, path in ready_paths.items())
        )
        yield
    finally:
        for child in ready_paths:
            if child.spawned and child.process.returncode is None:
                await child.kill()
