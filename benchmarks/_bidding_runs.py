"""One server under the bidding benchmark's load: its bidders, its books and its wrk runs."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _bidding_books import Books
from _bidding_load import run_wrk
from _bidding_report import Run
from _harness import cpu_seconds, host_jiffies, sign_up

BIDDERS = 64
SPREAD = 1_000
# A process is quiet again once it uses under 5% of a core over half a second. The
# embedded one runs every consumer of a bid's events (notices, rollups, the lot's
# price): what they had not done when the load stopped they do after it, and the
# next run (a no-op ceiling above all) must not be measured against that work.
QUIET_SHARE = 0.05
QUIET_WINDOW = 0.5
QUIET_LIMIT = 600.0  # seconds; a process still busy then is reported as it stands


def settle(pid: int) -> tuple[float, float]:
    """Wait until the process is quiet; the CPU seconds it used meanwhile, and the wait."""
    started, first = time.monotonic(), cpu_seconds(pid)
    while time.monotonic() - started < QUIET_LIMIT:
        before = cpu_seconds(pid)
        time.sleep(QUIET_WINDOW)
        if cpu_seconds(pid) - before < QUIET_SHARE * QUIET_WINDOW:
            break
    return cpu_seconds(pid) - first, time.monotonic() - started


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def bidder_tokens(identity_url: str, path: Path) -> Path:
    """Register and sign in the bidders, a few at a time (identity hashes off its loop)."""
    with httpx.Client(timeout=60, trust_env=False) as http, ThreadPoolExecutor(8) as pool:
        accounts = list(pool.map(lambda _: sign_up(http, identity_url), range(BIDDERS)))
    return write_lines(path, [token for _, token in accounts])


@dataclass
class Target:
    """A process serving bids (``url``, ``pid``), with fresh books for each run.

    Each run bids on books of its own (``open_books``), so one run's bids never meet
    another's, and its ledger check sees only its own.
    """

    url: str
    pid: int
    tokens: Path
    books: Books
    loop: asyncio.Runner
    workdir: Path
    auctions: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    bid_field: str = "max_amount_cents"  # what the serving revision calls a bid's maximum

    def open_books(self, keys: list[str]) -> None:
        """For each key (``hot-...`` or ``spread-...``): one book, or 1,000."""
        for key in keys:
            count = 1 if key.startswith("hot") else SPREAD
            self.auctions[key] = self.loop.run(self.books.open(count))
            self.files[key] = write_lines(self.workdir / f"{key}.txt", self.auctions[key])

    def run(self, scenario: str, connections: int, seconds: float, key: str | None = None) -> Run:
        """One wrk run, with the process's CPU time and, for bids, the ledger check."""
        keys_before = 0 if key is None else self.loop.run(self.books.keys())
        before, (busy, total) = cpu_seconds(self.pid), host_jiffies()
        load = run_wrk(
            scenario,
            self.url,
            connections=connections,
            seconds=seconds,
            tokens=self.tokens,
            auctions=None if key is None else self.files[key],
            bid_field=self.bid_field,
        )
        cpu = cpu_seconds(self.pid) - before
        busy_after, total_after = host_jiffies()
        host = (busy_after - busy) / max(total_after - total, 1)
        left = settle(self.pid)
        if key is None:
            return Run(load, None, cpu, host, *left)
        if load.unanswered:
            time.sleep(1.0)  # let the bids wrk gave up on commit first
        check = self.books.check(
            self.auctions[key],
            load.succeeded,
            answered=load.succeeded + load.refused,
            keys_before=keys_before,
        )
        return Run(load, self.loop.run(check), cpu, host, *left)
