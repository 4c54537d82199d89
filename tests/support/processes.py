"""Run the real ``auction-platform`` command as a child process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

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
    """A running server process and its base URL."""

    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url
        self.output = ""

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``sig`` and wait for the exit code (a deadline for the graceful stop)."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        out, _ = await asyncio.wait_for(self.process.communicate(), timeout)
        self.output += out.decode() if out else ""
        assert self.process.returncode is not None
        return self.process.returncode


@contextlib.asynccontextmanager
async def started(
    *args: str,
    port: int,
    env: Mapping[str, str],
    cwd: Path | None = None,
    ready_path: str = "/health/live",
    timeout: float = 120,
) -> AsyncIterator[Child]:
    """Start a server process and wait until ``ready_path`` answers.

    ``timeout`` is a deadline for a loaded machine, not a measure: how fast the
    platform gets ready is measured by ``benchmarks/startup.py``.
    """
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        "--port",
        str(port),
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    child = Child(process, f"http://127.0.0.1:{port}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if process.returncode is not None:
                    out = await process.stdout.read() if process.stdout else b""
                    raise AssertionError(f"{args} exited early:\n{out.decode()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(child.url + ready_path)).status_code < 500:
                        break
                if loop.time() > deadline:
                    raise AssertionError(
                        f"{args}: {ready_path} did not answer below 500 within {timeout}s"
                    )
                await asyncio.sleep(0.1)
        yield child
    finally:
        if process.returncode is None:
            await child.stop(signal.SIGKILL if process.returncode is None else signal.SIGTERM)
