"""What a bid costs: bids/s and latency on one hot auction and over 1,000, against two yardsticks.

In one run, in the distributed mode (one process per service, on PostgreSQL, Redis and
RabbitMQ at 127.0.0.1, events relayed from the outbox to RabbitMQ as in production), at
each connection count (8, 32 and 64 by default) wrk sends, with a bearer token per
connection (64 bidders registered through identity):

1. ``POST /diagnostics/noop`` to the bidding process: the ceiling of its HTTP stack (token
   check, body parsing, middleware) with no bidding behind it;
2. ``POST /api/v1/auctions/{id}/bids`` on one hot auction, then spread over 1,000 auctions,
   with amounts that keep rising so most bids are accepted;

and pgbench runs a per-bid transaction (a conditional update of one hot row and a ledger
insert) on the same PostgreSQL server, at the same client counts: what one transaction
per bid would allow. Books are opened directly with the bidding service's code, open for
hours. After each bid run, the 201s must equal the ledger rows of those auctions and every
stored book must equal its ledger replayed by the engine.

It prints one table (with the bidding process's CPU use per run, and the whole machine's)
and the targets: hot-auction bids/s >= 0.7 x the no-op ceiling and >= 3 x pgbench (each at
the same connection count), p99 < 100 ms at 64 connections, and the bidding process's
resident memory < 200 MB. wrk, the servers, PostgreSQL, Redis and RabbitMQ share the
machine's cores: the figures compare the paths on this machine; they are not the capacity
of a deployment. Other load on the machine skews them: the report warns when it was busy.

Run from the project root (needs wrk and pgbench: ``apt-get install wrk postgresql-client``)::

    .venv/bin/python benchmarks/bidding.py [--duration 10] [--connections 8,32,64] [--quick]

``--profile`` then records the bidding process with py-spy (not a project dependency:
``.venv/bin/pip install py-spy``) on the no-op, the hot auction and 1,000 auctions at the
largest connection count, saves ``benchmarks/results/bidding-*.folded`` and prints where
the CPU time goes.

The figures also go to ``benchmarks/results/bidding.json`` and, as JSON, to the last line
of stdout. Exit status 0 when every target is met, 1 when one is missed or a check fails,
2 when wrk or pgbench is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _bidding_books import Books
from _bidding_load import create_pgbench_schema, pgbench_binary, run_pgbench, run_wrk
from _bidding_report import Figures, Run, report
from _harness import (
    COMMAND,
    RESULTS_DIR,
    Child,
    RssSampler,
    admin_sql,
    cpu_seconds,
    forget,
    free_port,
    host_jiffies,
    memory_kib,
    run,
    service_env,
    sign_up,
    start,
    stop,
    unique_name,
    wait_until,
)
from _profile import Recording, print_hot_spots, py_spy

PROFILED = {"noop": "the no-op", "hot": "the hot auction", "spread": "1,000 auctions"}
BIDDERS = 64
SPREAD = 1_000
UNUSED_SERVICES = ("auction", "payment", "notification", "analytics", "gateway")
# Enough for 64 concurrent batches on 1,000 books; PostgreSQL allows 100 connections here.
POOL = {"DB_POOL_SIZE": "20", "DB_MAX_OVERFLOW": "10"}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    parser.add_argument(
        "--connections", default="8,32,64", help="comma-separated wrk connection counts"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: the largest count only, 3 s runs"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then record bidding with py-spy on the no-op, one and 1,000 auctions (largest count)",
    )
    args = parser.parse_args()
    args.connections = sorted({int(n) for n in str(args.connections).split(",") if n.strip()})
    if args.quick:
        args.connections, args.duration, args.warmup = args.connections[-1:], 3.0, 1.0
    return args


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _bidder_tokens(identity_url: str) -> list[str]:
    """Register and sign in the bidders, a few at a time (identity hashes off its loop)."""
    with httpx.Client(timeout=60, trust_env=False) as http, ThreadPoolExecutor(8) as pool:
        accounts = list(pool.map(lambda _: sign_up(http, identity_url), range(BIDDERS)))
    return [token for _, token in accounts]


def _start_services(name: str, workdir: Path, children: list[Child]) -> Child:
    """Migrate, then start identity and bidding (the latter with diagnostics); bidding."""
    identity_port, bidding_port = free_port(), free_port()
    env = service_env(
        name,
        f"http://127.0.0.1:{identity_port}",
        unused=UNUSED_SERVICES,
        extra={**POOL, "DIAGNOSTICS": "true"},
    )
    for service in ("identity", "bidding"):
        run([*COMMAND, "migrate", "--service", service], env=env, cwd=workdir, timeout=120)
    with httpx.Client(timeout=10, trust_env=False) as http:
        for service, port in (("identity", identity_port), ("bidding", bidding_port)):
            children.append(start(service, port, env, workdir))
            # Bidding is Degraded without the auction service, and ready: it needs only
            # PostgreSQL, as its books are already open.
            wait_until(http, children[-1], "/health/ready", lambda r: r.status_code == 200)
    return children[-1]


def _folded(scenario: str) -> Path:
    return RESULTS_DIR / f"bidding-{scenario}.folded"


def _print_profiles(connections: int) -> None:
    for scenario, label in PROFILED.items():
        print_hot_spots(f"{label} at {connections} connections", _folded(scenario))


def measure(
    args: argparse.Namespace, loop: asyncio.Runner, workdir: Path, name: str, books: Books
) -> Figures:
    """pgbench first (no pool holds connections yet), then the services and the wrk runs."""
    binary = pgbench_binary()
    assert binary is not None
    scratch = f"{name}_pgbench"
    loop.run(create_pgbench_schema(scratch))
    seconds = max(1, math.ceil(args.duration))
    tps = {c: run_pgbench(binary, scratch, clients=c, seconds=seconds) for c in args.connections}

    children: list[Child] = []
    runs: list[Run] = []
    try:
        bidding = _start_services(name, workdir, children)
        tokens = _write_lines(workdir / "tokens.txt", _bidder_tokens(children[0].url))
        auctions: dict[str, list[str]] = {}
        files: dict[str, Path] = {}
        for c in ["warm-up", *args.connections, *(["profile"] if args.profile else [])]:
            for scenario, count in (("hot", 1), ("spread", SPREAD)):
                key = f"{scenario}-{c}"
                auctions[key] = loop.run(books.open(count))
                files[key] = _write_lines(workdir / f"{key}.txt", auctions[key])

        def wrk(scenario: str, connections: int, seconds: float, key: str | None = None) -> Run:
            """One wrk run, with the bidding process's CPU time and, for bids, the check."""
            before, (busy, total) = cpu_seconds(bidding.process.pid), host_jiffies()
            load = run_wrk(
                scenario,
                bidding.url,
                connections=connections,
                seconds=seconds,
                tokens=tokens,
                auctions=None if key is None else files[key],
            )
            cpu = cpu_seconds(bidding.process.pid) - before
            busy_after, total_after = host_jiffies()
            host = (busy_after - busy) / max(total_after - total, 1)
            if key is None:
                return Run(load, None, cpu, host)
            if load.unanswered:
                time.sleep(1.0)  # let the bids wrk gave up on commit first
            return Run(load, loop.run(books.check(auctions[key], load.succeeded)), cpu, host)

        with RssSampler(bidding.process.pid) as sampler:
            # Warm-up: connection pools, the JWKS fetch, first-call paths.
            wrk("warm-up", args.connections[-1], args.warmup)
            wrk("warm-up", args.connections[-1], args.warmup, "hot-warm-up")
            for c in args.connections:
                runs.append(wrk("no-op ceiling", c, args.duration))
                runs.append(wrk("hot auction", c, args.duration, f"hot-{c}"))
                runs.append(wrk("1,000 auctions", c, args.duration, f"spread-{c}"))
            rss = memory_kib(bidding.process.pid)
        errors = bidding.logged_errors()
        for scenario in PROFILED if args.profile else ():
            books_key = None if scenario == "noop" else f"{scenario}-profile"
            with Recording(bidding.process.pid, args.duration, _folded(scenario)):
                wrk("profiled", args.connections[-1], args.duration, books_key)
    finally:
        for child in reversed(children):
            stop(child)
    return Figures(runs, tps, rss["VmRSS"], rss["VmHWM"], sampler.peak_kib, errors)


def main() -> int:
    args = _arguments()
    missing = [] if shutil.which("wrk") else ["wrk"]
    missing += [] if pgbench_binary() else ["pgbench"]
    missing += ["py-spy"] if args.profile and py_spy() is None else []
    if missing:
        how = {"wrk": "apt-get install wrk", "pgbench": "apt-get install postgresql-client"}
        how["py-spy"] = ".venv/bin/pip install py-spy"
        print("missing: " + "; ".join(f"{tool} ({how[tool]})" for tool in missing), file=sys.stderr)
        return 2
    # A SIGTERM to the benchmark still runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    busy, total = host_jiffies()
    time.sleep(1.0)
    busy_after, total_after = host_jiffies()
    args.busy_before = (busy_after - busy) / max(total_after - total, 1)
    name = unique_name()
    scratch = f"{name}_pgbench"
    queues: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bidding-bench-") as workdir, asyncio.Runner() as loop:
        try:
            for database in (name, scratch):
                loop.run(admin_sql(f'CREATE DATABASE "{database}"'))
            books = loop.run(Books.create(name))
            queues = books.queue_names()
            try:
                figures = measure(args, loop, Path(workdir), name, books)
            finally:
                loop.run(books.close())
        finally:
            loop.run(forget(name, queues=queues, databases=[scratch]))
    passed = report(args, figures)
    if args.profile:
        _print_profiles(args.connections[-1])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
