"""The closer at scale: 10,000 auctions ending within one minute, each closed once and on time.

In the distributed mode (on PostgreSQL, Redis and RabbitMQ at 127.0.0.1, events relayed
from the outbox to RabbitMQ as in production), TWO bidding processes run against one
database, so their closers compete for the same books. The benchmark opens 10,000
books directly with the bidding service's code, their ends spread at random over one
minute that starts shortly after the set-up. Every book has a soft close (a bid in its
last 2 s pushes the end back 3 s, at most 3 times). Through the bidding HTTP API, on
both processes in turn, bidders signed up with identity then bid: once on a tenth of
the books before any end, 1 s before the planned end of a twentieth (which moves their
end), and on half of those once more 2 s after that planned end (a second extension).
A consumer of its own, bound to ``AuctionClosed`` on the run's exchange, notes when
each event arrives.

Lateness is how long after a book's *effective* end (its ``ends_at`` once every
extension is in, as the closed book keeps it) the platform had its ``AuctionClosed``
out: the outbox row's ``published_at``, which the relay writes once RabbitMQ has
confirmed the event. It is the platform's own record of the event leaving, so it does
not depend on how quickly this benchmark's process consumes. Every clock involved is
the same host's wall clock (the ends were computed from it, the bidding processes stamp
``published_at`` from it): no skew to correct. The table also shows the lateness of the
closer's decision (the event's ``closed_at``, its ``now``) and of the event's arrival
at the benchmark's consumer.

The checks: every book closed, each with exactly one ``AuctionClosed`` in the outbox and
one delivery; none closed before its effective end; the event's winner and price are
the book's result and its ledger replayed by the engine and closed at that end.

It prints a table (the counts, lateness percentiles, a histogram of lateness, both
bidding processes' CPU) and the goals: p99 lateness <= 250 ms, and every auction closed
exactly once. Other load on the machine skews the figures: the report says how busy it
was.

Run from the project root::

    .venv/bin/python benchmarks/closer.py [--auctions 10000] [--spread 60] [--quick] [--profile]

``--quick``: 1,000 auctions within 20 s. ``--profile`` records both bidding processes
with py-spy while the books close (``.venv/bin/pip install py-spy``), saves
``benchmarks/results/closer-*.folded`` and prints where their CPU time goes.

The figures also go to ``benchmarks/results/closer.json`` and, as JSON, to the last line
of stdout. Exit status 0 when every goal is met, 1 when one is missed, 2 when py-spy is
asked for and missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _closer_books import SOFT_CLOSE, Lots
from _closer_events import ClosedArrivals, receiving
from _closer_report import Bids, Figures, report
from _harness import (
    COMMAND,
    RESULTS_DIR,
    Child,
    cpu_seconds,
    free_port,
    host_busy_over,
    host_jiffies,
    own_database,
    run,
    service_env,
    sign_up,
    start,
    stop,
    unique_name,
    wait_until,
)
from _profile import Recording, print_hot_spots, py_spy

BIDDERS = 8
UNUSED_SERVICES = ("auction", "payment", "notification", "analytics", "gateway")
EARLY_BIDS = 0.10  # of the books: one bid before any end
LATE_BIDS = 0.05  # of the books: a bid 1 s before the planned end (an extension)
SECOND_LATE_BIDS = 0.5  # of those: another bid 2 s after the planned end (a second one)
BID_CONCURRENCY = 16
GRACE = timedelta(seconds=30)  # after the last possible end, for the stragglers
SEED = 20_251_203


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--auctions", type=int, default=10_000, help="books that end")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds their ends span")
    parser.add_argument(
        "--lead", type=float, default=30.0, help="seconds from opening the books to the first end"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1,000 auctions ending within 20 s"
    )
    parser.add_argument(
        "--profile", action="store_true", help="record both bidding processes with py-spy"
    )
    args = parser.parse_args()
    if args.quick:
        args.auctions, args.spread, args.lead = 1_000, 20.0, 10.0
    return args


def _start_services(name: str, workdir: Path, children: list[Child]) -> list[Child]:
    """Migrate, then start identity and two bidding processes; the bidding ones."""
    identity_port = free_port()
    env = service_env(name, f"http://127.0.0.1:{identity_port}", unused=UNUSED_SERVICES)
    for service in ("identity", "bidding"):
        run([*COMMAND, "migrate", "--service", service], env=env, cwd=workdir, timeout=120)
    with httpx.Client(timeout=10, trust_env=False) as http:
        for service, port in (
            ("identity", identity_port),
            ("bidding", free_port()),
            ("bidding", free_port()),
        ):
            children.append(start(service, port, env, workdir))
            # Bidding is Degraded without the auction service, and ready: it needs only
            # PostgreSQL, as its books are opened directly.
            wait_until(http, children[-1], "/health/ready", lambda r: r.status_code == 200)
    return children[1:]


def _bidder_tokens(identity_url: str) -> list[str]:
    """Register and sign in the bidders, a few at a time (identity hashes off its loop)."""
    with httpx.Client(timeout=60, trust_env=False) as http, ThreadPoolExecutor(4) as pool:
        return [
            token for _, token in pool.map(lambda _: sign_up(http, identity_url), range(BIDDERS))
        ]


def _ends(args: argparse.Namespace, rng: random.Random) -> list[datetime]:
    """The books' planned ends: at random over ``spread`` seconds from ``lead`` on."""
    first = datetime.now(UTC) + timedelta(seconds=args.lead)
    return sorted(
        first + timedelta(seconds=rng.uniform(0, args.spread)) for _ in range(args.auctions)
    )


class Bidder:
    """Bids over HTTP on both bidding processes in turn, counting the answers."""

    def __init__(self, http: httpx.AsyncClient, urls: list[str], tokens: list[str]) -> None:
        self.http, self.urls, self.tokens = http, urls, tokens
        self.bids = Bids()
        self._turn = 0
        self._slots = asyncio.Semaphore(BID_CONCURRENCY)

    async def bid(self, auction_id: str, bidder: int, cents: int) -> None:
        self._turn += 1
        url = f"{self.urls[self._turn % len(self.urls)]}/api/v1/auctions/{auction_id}/bids"
        headers = {"Authorization": f"Bearer {self.tokens[bidder % len(self.tokens)]}"}
        async with self._slots:
            try:
                answer = await self.http.post(
                    url, json={"max_amount_cents": cents}, headers=headers
                )
            except httpx.TransportError:
                self.bids.count(0)
                return
        self.bids.count(answer.status_code)

    async def at(self, moment: datetime, auction_id: str, bidder: int, cents: int) -> None:
        """Bid at ``moment`` (the host's wall clock)."""
        await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0.0))
        await self.bid(auction_id, bidder, cents)


async def _bid_on(
    bidder: Bidder, books: dict[str, datetime], rng: random.Random
) -> list[asyncio.Task[None]]:
    """Early bids now (awaited); the late ones as tasks at their moments."""
    ids = list(books)
    early = rng.sample(ids, round(len(ids) * EARLY_BIDS))
    await asyncio.gather(*(bidder.bid(i, rng.randrange(BIDDERS), 500) for i in early))
    late = rng.sample(ids, round(len(ids) * LATE_BIDS))
    window = timedelta(seconds=SOFT_CLOSE["window_seconds"])
    tasks = []
    for n, auction_id in enumerate(late):
        end, first = books[auction_id], 2 * n % BIDDERS
        tasks.append(asyncio.create_task(bidder.at(end - window / 2, auction_id, first, 1_000)))
        if n % round(1 / SECOND_LATE_BIDS) == 0:  # inside the window of the moved end
            moved = end + timedelta(seconds=SOFT_CLOSE["extend_seconds"])
            tasks.append(
                asyncio.create_task(bidder.at(moved - window / 2, auction_id, first + 1, 2_000))
            )
    return tasks


async def _until_closed(lots: Lots, deadline: datetime) -> int:
    """Wait until every book is closed, or the deadline; the most events seen waiting
    in the outbox for a relay meanwhile (sampled every 0.25 s)."""
    backlog = 0
    while datetime.now(UTC) < deadline:
        still_open, unsent = await lots.still_open()
        backlog = max(backlog, unsent)
        if not still_open:
            break
        await asyncio.sleep(0.25)
    return backlog


async def _until_delivered(arrivals: ClosedArrivals, count: int, seconds: float = 10.0) -> None:
    """Wait until the consumer has ``count`` events (more never come), or ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if arrivals.count >= count:
            return
        await asyncio.sleep(0.2)


@contextlib.contextmanager
def _recordings(enabled: bool, pids: list[int], seconds: float) -> Iterator[None]:
    """py-spy on each of ``pids`` while the block runs, when ``enabled``."""
    with contextlib.ExitStack() as stack:
        for n, pid in enumerate(pids if enabled else []):
            stack.enter_context(Recording(pid, seconds, _folded(n)))
        yield


def _folded(n: int) -> Path:
    return RESULTS_DIR / f"closer-bidding-{n + 1}.folded"


async def _close_books(
    args: argparse.Namespace, name: str, lots: Lots, bidding: list[Child], tokens: list[str]
) -> Figures:
    """Open the books, bid, let them close, and read back what the platform recorded."""
    rng = random.Random(SEED)
    async with receiving(name) as arrivals, httpx.AsyncClient(timeout=30, trust_env=False) as http:
        ends = _ends(args, rng)
        books = await lots.open(ends)
        bidder = Bidder(http, [child.url for child in bidding], tokens)
        late = await _bid_on(bidder, books, rng)
        first_end = min(books.values())
        ready_before = (first_end - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(max(ready_before - 0.5, 0.0))
        cpu = [cpu_seconds(child.process.pid) for child in bidding]
        busy, total = host_jiffies()
        started = time.monotonic()
        last_end = max(books.values()) + 3 * timedelta(seconds=SOFT_CLOSE["extend_seconds"])
        with _recordings(args.profile, [c.process.pid for c in bidding], args.spread + 1):
            backlog = await _until_closed(lots, last_end + GRACE)
            await asyncio.gather(*late)
        await _until_delivered(arrivals, len(books))
        seconds = time.monotonic() - started
        cpu = [
            cpu_seconds(child.process.pid) - before
            for child, before in zip(bidding, cpu, strict=True)
        ]
        busy_after, total_after = host_jiffies()
        closings = await lots.closings(books)
    return Figures(
        closings=closings,
        arrivals=arrivals.times,
        deliveries=arrivals.deliveries,
        bids=bidder.bids,
        seconds=seconds,
        cpu_seconds=cpu,
        host_busy=(busy_after - busy) / max(total_after - total, 1),
        lead_left_seconds=ready_before,
        relay_backlog=backlog,
        errors=[message for child in bidding for message in child.logged_errors()],
    )


def measure(
    args: argparse.Namespace, loop: asyncio.Runner, workdir: Path, name: str, lots: Lots
) -> Figures:
    children: list[Child] = []
    try:
        bidding = _start_services(name, workdir, children)
        tokens = _bidder_tokens(children[0].url)
        return loop.run(_close_books(args, name, lots, bidding, tokens))
    finally:
        for child in reversed(children):
            stop(child)


def main() -> int:
    args = _arguments()
    if args.profile and py_spy() is None:
        print("missing: py-spy (.venv/bin/pip install py-spy)", file=sys.stderr)
        return 2
    # A SIGTERM to the benchmark still runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.busy_before = host_busy_over(1.0)
    name = unique_name()
    with (
        tempfile.TemporaryDirectory(prefix="closer-bench-") as workdir,
        asyncio.Runner() as loop,
        own_database(loop, name, lambda: Lots.create(name)) as lots,
    ):
        figures = measure(args, loop, Path(workdir), name, lots)
    passed = report(args, figures)
    if args.profile:
        for n in range(2):
            print_hot_spots(f"bidding process {n + 1} while the books closed", _folded(n))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
