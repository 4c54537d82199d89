"""What a bid costs: CPU, bids/s and latency on one hot auction and over 1,000, beside a no-op.

In one run, in the distributed mode (one process per service, on PostgreSQL, Redis and
RabbitMQ at 127.0.0.1, events relayed from the outbox to RabbitMQ as in production), at
each connection count (8, 32 and 64 by default) wrk sends, with a bearer token per
connection (64 bidders registered through identity) and an Idempotency-Key per request
(unique, as a real client sends it):

1. ``POST /diagnostics/noop`` to the bidding process: the ceiling of its HTTP stack (token
   check, body parsing, middleware) with no bidding behind it;
2. ``POST /api/v1/auctions/{id}/bids`` on one hot auction, then spread over 1,000 auctions,
   with amounts that keep rising so most bids are accepted.

Then the same service restarted with batches of one (``BID_BATCH_MAX=1``: one transaction
per bid, the per-bid design in the same stack) takes the hot auction at the largest count,
and ``auction-platform up`` (the embedded mode: SQLite, one process) takes the no-op
(through its gateway to the site's lean no-op: the same forward a bid takes), the hot
auction and 1,000 auctions through its gateway. pgbench runs a per-bid
transaction (a conditional update of one hot row and a ledger insert) on the same
PostgreSQL server: the database's own figure. Books are opened directly with the bidding
service's code, open for hours. After each bid run, the 201s must equal the ledger rows,
every stored book must equal its ledger replayed by the engine, and every answered bid
must have recorded its key. After every run the benchmark waits until the serving process
is quiet again (under 5% of a core) and reports the CPU it used meanwhile ("after"): the
embedded process runs the consumers of the bids' events (notices, rollups, the lot's
price), which go on working after the load stops, and no run is measured against the
work the one before it left.

It prints one table (with the serving process's CPU per answer, and the whole machine's
use) and the goals, each PASS or FAIL:

- cost of a bid: the bidding process's CPU per answered bid at most 1.5 x its CPU per
  no-op answer at 64 connections, and 2 x at 8, on the hot auction and on 1,000;
- the hot auction at 64 connections at least 0.6 x the no-op's answers/s;
- batched at least 4 x batches of one on the hot auction at 64 connections;
- p99 at 64 connections under 60 ms on the hot auction, 100 ms over 1,000 auctions;
- embedded: the hot auction at least 0.3 x its own no-op's answers/s;
- the bidding process's resident memory < 200 MB, the ledger checks, no errors.

wrk, the servers, PostgreSQL, Redis and RabbitMQ share the machine's cores: the figures
compare the paths on this machine; they are not the capacity of a deployment. Other
load on the machine skews them: the report warns when it was busy.

Run from the project root (needs wrk and pgbench: ``apt-get install wrk postgresql-client``)::

    .venv/bin/python benchmarks/bidding.py [--duration 10] [--connections 8,32,64] [--quick]

``--quick`` runs 8 and 64 connections for 3 s each (about two minutes in all).
``--against REF`` also serves bidding from an earlier git revision (its ``src`` extracted
with ``git archive``) and, at each count, runs the hot auction and 1,000 auctions on this
tree's and on REF's in turn: before and after in one run, on one machine state.
``--profile`` then records the bidding process with py-spy (not a project dependency:
``.venv/bin/pip install py-spy``) on the no-op, the hot auction and 1,000 auctions at the
largest connection count, saves ``benchmarks/results/bidding-*.folded`` and prints where
the CPU time goes.

The figures also go to ``benchmarks/results/bidding.json`` and, as JSON, to the last line
of stdout. Exit status 0 when every goal is met, 1 when one is missed or a check fails,
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
from pathlib import Path

import httpx
from _bidding_against import side_by_side
from _bidding_books import Books
from _bidding_embedded import embedded_target, start_up, stop_up
from _bidding_load import create_pgbench_schema, pgbench_binary, run_pgbench
from _bidding_report import EMBEDDED, HOT, NOOP, SINGLE, SPREAD, Figures, Run, report
from _bidding_runs import Target, bidder_tokens
from _harness import (
    COMMAND,
    RESULTS_DIR,
    Child,
    RssSampler,
    database_url,
    free_port,
    host_busy_over,
    memory_kib,
    own_database,
    run,
    service_env,
    start,
    stop,
    unique_name,
    wait_until,
)
from _profile import Recording, print_hot_spots, py_spy

PROFILED = {"noop": "the no-op", "hot": "the hot auction", "spread": "1,000 auctions"}
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
        "--quick", action="store_true", help="short run: 8 and 64 connections, 3 s runs"
    )
    parser.add_argument(
        "--against",
        metavar="REF",
        help="also run bidding from git revision REF beside this tree's, alternating",
    )
    parser.add_argument(
        "--against-field",
        default="max_amount_cents",
        metavar="NAME",
        help="what REF calls a bid's maximum in its body (max_amount before the *_cents name)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then record bidding with py-spy on the no-op, one and 1,000 auctions (largest count)",
    )
    args = parser.parse_args()
    args.connections = sorted({int(n) for n in str(args.connections).split(",") if n.strip()})
    if args.quick:
        args.connections, args.duration, args.warmup = [8, 64], 3.0, 1.0
    return args


def _services_env(name: str, workdir: Path) -> dict[str, str]:
    """The services' environment, their databases migrated."""
    identity_url = f"http://127.0.0.1:{free_port()}"
    env = service_env(
        name, identity_url, unused=UNUSED_SERVICES, extra={**POOL, "DIAGNOSTICS": "true"}
    )
    for service in ("identity", "bidding"):
        run([*COMMAND, "migrate", "--service", service], env=env, cwd=workdir, timeout=120)
    return env


def _start(service: str, env: dict[str, str], workdir: Path) -> Child:
    """Start one service; ready when it answers (at the port its URL names, for identity)."""
    port = int(env["IDENTITY_URL"].rsplit(":", 1)[1]) if service == "identity" else free_port()
    child = start(service, port, env, workdir)
    with httpx.Client(timeout=10, trust_env=False) as http:
        # Bidding is Degraded without the auction service, and ready: it needs only
        # PostgreSQL, as its books are already open.
        wait_until(http, child, "/health/ready", lambda r: r.status_code == 200)
    return child


def _folded(scenario: str) -> Path:
    return RESULTS_DIR / f"bidding-{scenario}.folded"


def _print_profiles(connections: int) -> None:
    for scenario, label in PROFILED.items():
        print_hot_spots(f"{label} at {connections} connections", _folded(scenario))


def _scenarios(c: int) -> list[tuple[str, str | None]]:
    """The runs at one connection count: the no-op, then each bid scenario with its books."""
    return [(NOOP, None), (HOT, f"hot-{c}"), (SPREAD, f"spread-{c}")]


def _distributed(
    args: argparse.Namespace, loop: asyncio.Runner, workdir: Path, env: dict[str, str], books: Books
) -> tuple[list[Run], tuple[int, int, int], list[str]]:
    """Identity and bidding as child processes: every count, then the profiles, if asked."""
    children: list[Child] = []
    try:
        children.append(_start("identity", env, workdir))
        bidding = _start("bidding", env, workdir)
        children.append(bidding)
        tokens = bidder_tokens(children[0].url, workdir / "tokens.txt")
        target = Target(bidding.url, bidding.process.pid, tokens, books, loop, workdir)
        extra = ["profile"] if args.profile else []
        target.open_books(
            [
                f"{kind}-{c}"
                for c in ["warm-up", *args.connections, *extra]
                for kind in ("hot", "spread")
            ]
        )
        runs: list[Run] = []
        with RssSampler(bidding.process.pid) as sampler:
            # Warm-up: connection pools, the JWKS fetch, first-call paths.
            target.run("warm-up", args.connections[-1], args.warmup)
            target.run("warm-up", args.connections[-1], args.warmup, "hot-warm-up")
            for c in args.connections:
                runs += [target.run(name, c, args.duration, key) for name, key in _scenarios(c)]
            rss = memory_kib(bidding.process.pid)
        errors = bidding.logged_errors()
        for scenario in PROFILED if args.profile else ():
            key = None if scenario == "noop" else f"{scenario}-profile"
            with Recording(bidding.process.pid, args.duration, _folded(scenario)):
                target.run("profiled", args.connections[-1], args.duration, key)
        if args.against:

            def again(extra: dict[str, str]) -> Child:
                return _start("bidding", env | extra, workdir)

            runs += side_by_side(args, target, again, workdir)
        stop(children.pop())
        runs.append(_batches_of_one(args, loop, workdir, env, target))
        return runs, (rss["VmRSS"], rss["VmHWM"], sampler.peak_kib), errors
    finally:
        for child in reversed(children):
            stop(child)


def _batches_of_one(
    args: argparse.Namespace,
    loop: asyncio.Runner,
    workdir: Path,
    env: dict[str, str],
    target: Target,
) -> Run:
    """The per-bid design in the same stack: bidding restarted with ``BID_BATCH_MAX=1``."""
    bidding = _start("bidding", env | {"BID_BATCH_MAX": "1"}, workdir)
    try:
        single = Target(
            bidding.url, bidding.process.pid, target.tokens, target.books, loop, workdir
        )
        c = args.connections[-1]
        single.open_books(["hot-single-warm-up", f"hot-single-{c}"])
        single.run("warm-up", c, args.warmup, "hot-single-warm-up")
        return single.run(SINGLE, c, args.duration, f"hot-single-{c}")
    finally:
        stop(bidding)


def _embedded(args: argparse.Namespace, loop: asyncio.Runner, workdir: Path) -> list[Run]:
    """``auction-platform up``: the same scenarios through its gateway, at every count."""
    child = start_up(workdir)
    target = None
    try:
        target = embedded_target(child, workdir, loop)
        target.open_books(
            [f"{kind}-{c}" for c in ["warm-up", *args.connections] for kind in ("hot", "spread")]
        )
        target.run("warm-up", args.connections[-1], args.warmup)
        target.run("warm-up", args.connections[-1], args.warmup, "hot-warm-up")
        return [
            target.run(f"{EMBEDDED}{name}", c, args.duration, key)
            for c in args.connections
            for name, key in _scenarios(c)
        ]
    finally:
        stop_up(child, target)


def measure(
    args: argparse.Namespace, loop: asyncio.Runner, workdir: Path, name: str, books: Books
) -> Figures:
    """pgbench first (no pool holds connections yet), the services, then the embedded mode."""
    binary = pgbench_binary()
    assert binary is not None
    scratch = f"{name}_pgbench"
    loop.run(create_pgbench_schema(scratch))
    seconds = max(1, math.ceil(args.duration))
    tps = {c: run_pgbench(binary, scratch, clients=c, seconds=seconds) for c in args.connections}
    env = _services_env(name, workdir)
    runs, (rss, hwm, sampled), errors = _distributed(args, loop, workdir, env, books)
    runs += _embedded(args, loop, workdir)
    return Figures(runs, tps, rss, hwm, sampled, errors)


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
    args.busy_before = host_busy_over(1.0)
    name = unique_name()
    scratch = f"{name}_pgbench"
    with (
        tempfile.TemporaryDirectory(prefix="bidding-bench-") as workdir,
        asyncio.Runner() as loop,
        own_database(
            loop, name, lambda: Books.create(database_url(name)), scratch=[scratch]
        ) as books,
    ):
        figures = measure(args, loop, Path(workdir), name, books)
    passed = report(args, figures)
    if args.profile:
        _print_profiles(args.connections[-1])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
