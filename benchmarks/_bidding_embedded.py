"""The bidding benchmark's embedded run: ``auction-platform up``, every service in one process.

SQLite files, the in-process broker and the memory cache, as a single-machine install
runs. The bidders sign up through its gateway, and bids go through the gateway to the
bidding service in the same process; the no-op (``DIAGNOSTICS=true``) is the gateway's
own, the ceiling of the stack every request crosses first. Books are opened in its
bidding file by the benchmark itself, with the service's code.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import httpx
from _bidding_books import Books
from _bidding_runs import Target, bidder_tokens
from _harness import COMMAND, LOAD_ENV, Child, free_port, stop, wait_until

from auction_platform.settings import Settings

EMBEDDED_ENV = {**LOAD_ENV, "DIAGNOSTICS": "true"}


def start_up(workdir: Path) -> Child:
    """Start ``auction-platform up`` on a fresh data directory; ready when it answers."""
    port, data_dir = free_port(), workdir / "embedded-data"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL")} | EMBEDDED_ENV
    log = workdir / "up.log"
    command = [*COMMAND, "up", "--port", str(port), "--data-dir", str(data_dir)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=output, stderr=subprocess.STDOUT
        )
    child = Child("up", f"http://127.0.0.1:{port}", process, log)
    with httpx.Client(timeout=10, trust_env=False) as http:
        wait_until(http, child, "/health/ready", lambda r: r.status_code == 200)
    return child


def bidding_file(workdir: Path) -> str:
    """The SQLite URL of the embedded bidding service's file."""
    settings = Settings(_env_file=None, data_dir=workdir / "embedded-data")
    return settings.database_url_for("bidding", overrides={})


async def embedded_books(workdir: Path) -> Books:
    return await Books.create(bidding_file(workdir))


def embedded_target(child: Child, workdir: Path, loop: asyncio.Runner) -> Target:
    """The process under load, its bidders signed up through its gateway."""
    tokens = bidder_tokens(child.url, workdir / "embedded-tokens.txt")
    books = loop.run(embedded_books(workdir))
    files = workdir / "embedded"
    files.mkdir(exist_ok=True)
    return Target(child.url, child.process.pid, tokens, books, loop, files)


def stop_up(child: Child, target: Target | None) -> None:
    if target is not None:
        target.loop.run(target.books.close())
    stop(child)
