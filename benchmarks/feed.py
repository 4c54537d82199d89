"""The live feed under a crowd: 1,000 watchers of a hot auction, then 10,000 idle ones.

In the distributed mode (identity, bidding and the gateway, one process each, on the
local PostgreSQL and Redis), with one hot auction and 100 quiet ones opened directly
with the bidding service's code:

1. **bids alone**: a load process (``_feed_load.py``, aiohttp) bids ``--rate`` times a
   second (500) on the hot auction through the gateway for ``--duration`` seconds, with
   no watcher: what proxying the bids costs the gateway;
2. **hot**: the same, with ``--watchers`` (1,000) WebSocket watchers of that auction
   connected from a process of their own (``_feed_watchers.py``). For each committed
   version (each 201) and each watcher: the time from the commit to when the watcher
   first held that version or a newer one; p50, p99 and max over watcher x version.
   The commit's time is the ``server_time`` of the 201's book: the bidding service
   stamps it when its batch decides, before the batch's statements and commit, and
   every process reads the same clock (one machine), so the figure is the feed's
   delay, not the bidder's round trip, and if anything too long by the batch's
   writes. Two later references bound it from below: when the 201 arrived, and when
   the book was published (``PublishClock``: this process's own subscriber to the
   auction's Redis channel, beside the gateway's, notes when each version arrives). Updates
   older than one the watcher held (must be none) and the largest lag (committed
   versions a watcher was behind at a receipt) are counted; the gateway's CPU per
   delivered update, all in and net of the bids alone, and its resident memory;
3. **idle**: ``--idle`` (10,000) watchers on the 100 quiet auctions, no bids: the
   gateway's CPU per second over ``--idle-seconds`` (20), against its CPU with no
   watcher just before, and its resident memory.

Targets: feed p99 <= 100 ms, never an older book, gateway RSS < 300 MB, 10,000 idle
watchers < 1 ms of gateway CPU a second (what they add to the gateway's own idle
work). The load, the watchers, the servers, PostgreSQL and Redis share the machine's
cores: a busy machine inflates the latencies; the report says how busy it was.

Run from the project root::

    .venv/bin/python benchmarks/feed.py [--watchers 1000] [--rate 500] [--duration 20]
        [--idle 10000] [--idle-seconds 20] [--quick]

``--quick`` (200 watchers, 5 s, 2,000 idle watchers for 5 s) checks that it works in
about a minute. The figures also go to ``benchmarks/results/feed.json`` and, as JSON,
to the last line of stdout. Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import redis
from _bidding_books import Books
from _feed_figures import delivery
from _feed_watchers import VERSION
from _harness import (
    COMMAND,
    REDIS_URL,
    RESULTS_DIR,
    Child,
    RssSampler,
    database_url,
    free_port,
    host_jiffies,
    own_database,
    run,
    save_results,
    service_env,
    sign_up,
    start,
    stop,
    unique_name,
    wait_until,
)

from auction_platform.contracts.auctions import feed_channel

HERE = Path(__file__).resolve().parent
RESULTS_FILE = RESULTS_DIR / "feed.json"
UNUSED_SERVICES = ("auction", "payment", "notification", "analytics")
BIDDERS = 64
QUIET_AUCTIONS = 100
DRAIN_SECONDS = 2.0  # after the last bid, for the last updates to arrive
P99_TARGET_MS = 100.0
RSS_TARGET_MB = 300.0
IDLE_TARGET_MS_PER_S = 1.0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--watchers", type=int, default=1_000, help="watchers of the hot auction")
    parser.add_argument("--rate", type=float, default=500.0, help="bids a second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of bidding per run")
    parser.add_argument("--idle", type=int, default=10_000, help="idle watchers")
    parser.add_argument("--idle-seconds", type=float, default=20.0, help="seconds idle measured")
    parser.add_argument("--quick", action="store_true", help="smoke run, about a minute")
    args = parser.parse_args()
    if args.quick:
        args.watchers, args.duration, args.idle, args.idle_seconds = 200, 5.0, 2_000, 5.0
    return args


def _raise_fd_limit() -> int:
    """Our soft limit of open files up to the hard one; the servers inherit it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _cpu(pid: int) -> float:
    """CPU seconds a process's threads have run so far, to the nanosecond (schedstat)."""
    return (
        sum(
            int(task.joinpath("schedstat").read_text().split()[0])
            for task in Path(f"/proc/{pid}/task").iterdir()
        )
        / 1e9
    )


def _open_files_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return line.split()[3]
    return "?"


def _gateway_ready(response: httpx.Response) -> bool:
    # /health/ready stays 503 without the auction service (critical to the gateway);
    # the feed and the bids need identity, bidding and Redis.
    statuses = {check["name"]: check["status"] for check in response.json().get("checks", [])}
    return all(statuses.get(name) == "Healthy" for name in ("identity", "bidding", "redis"))


def _start_services(name: str, workdir: Path, children: list[Child]) -> dict[str, Child]:
    ports = {service: free_port() for service in ("identity", "bidding", "gateway")}
    env = service_env(
        name,
        f"http://127.0.0.1:{ports['identity']}",
        unused=UNUSED_SERVICES,
        extra={"BIDDING_URL": f"http://127.0.0.1:{ports['bidding']}"},
    )
    for service in ("identity", "bidding"):
        run([*COMMAND, "migrate", "--service", service], env=env, cwd=workdir, timeout=120)
    with httpx.Client(timeout=10, trust_env=False) as http:
        for service in ("identity", "bidding"):
            children.append(start(service, ports[service], env, workdir))
            wait_until(http, children[-1], "/health/ready", lambda r: r.status_code == 200)
        children.append(start("gateway", ports["gateway"], env, workdir))
        wait_until(http, children[-1], "/health/detail", _gateway_ready)
    return {child.name: child for child in children}


def _bidder_tokens(identity_url: str, path: Path) -> Path:
    with httpx.Client(timeout=60, trust_env=False) as http, ThreadPoolExecutor(8) as pool:
        accounts = list(pool.map(lambda _: sign_up(http, identity_url), range(BIDDERS)))
    path.write_text("\n".join(token for _, token in accounts) + "\n")
    return path


class PublishClock:
    """When each version of an auction's book was published: a subscriber of its own.

    A thread with redis-py's blocking client, beside the gateway's subscription: the
    time a version reaches it is the publish's (plus Redis's own delivery), so the
    delay from it to a watcher is the gateway's and the watchers' part alone.
    """

    def __init__(self, name: str, auction: str) -> None:
        self.channel = f"{name}:{feed_channel(auction)}"
        self.seen: list[tuple[int, float]] = []
        self._redis = redis.Redis.from_url(REDIS_URL)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._stop = threading.Event()

    def __enter__(self) -> PublishClock:
        self._pubsub.subscribe(self.channel)
        self._thread.start()
        return self

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.2)
            if message is not None and message["type"] == "message":
                at = time.time()
                found = VERSION.search(message["data"])
                if found:
                    self.seen.append((int(found[1]), at))

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()
        self._redis.close()


class Crowd:
    """The watchers' process: opened on entry (all holding a book), closed and read on exit."""

    def __init__(self, gateway: Child, auctions: list[str], count: int, workdir: Path) -> None:
        self.count = count
        self.auctions_file = workdir / f"auctions-{count}.txt"
        self.auctions_file.write_text("\n".join(auctions) + "\n")
        self.result_file = workdir / f"watchers-{count}.json"
        self.base = gateway.url.replace("http://", "ws://")
        self.result: dict[str, Any] = {}
        self.process: subprocess.Popen[str] | None = None
        self.connect_seconds = 0.0

    def __enter__(self) -> Crowd:
        script = HERE / "_feed_watchers.py"
        argv = [str(self.auctions_file), str(self.count), str(self.result_file)]
        self.process = subprocess.Popen(
            [sys.executable, str(script), self.base, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 120 + self.count / 50)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("ready"):
            self.process.kill()
            _, errors = self.process.communicate()
            raise RuntimeError(f"the watchers did not connect: {line}{errors[-2000:]}")
        self.connect_seconds = float(line.split()[1])
        return self

    def __exit__(self, *_: object) -> None:
        assert self.process is not None
        _, errors = self.process.communicate("stop\n", timeout=120)
        if self.process.returncode != 0:
            raise RuntimeError(f"the watchers' process failed:\n{errors[-2000:]}")
        self.result = json.loads(self.result_file.read_text())


def _bids(gateway: Child, auction: str, tokens: Path, args: argparse.Namespace, out: Path) -> dict:
    """The load process's run: statuses and the 201s' versions and stamps."""
    script = HERE / "_feed_load.py"
    argv = [gateway.url, auction, str(tokens), str(args.rate), str(args.duration), str(out)]
    run([sys.executable, str(script), *argv], timeout=args.duration + 120)
    return dict(json.loads(out.read_text()))


def _busy(seconds: float) -> float:
    busy, total = host_jiffies()
    time.sleep(seconds)
    busy_after, total_after = host_jiffies()
    return (busy_after - busy) / max(total_after - total, 1)


def measure(
    args: argparse.Namespace, loop: asyncio.Runner, workdir: Path, name: str, books: Books
) -> dict[str, Any]:
    children: list[Child] = []
    figures: dict[str, Any] = {"settings": {k: v for k, v in vars(args).items()}}
    try:
        servers = _start_services(name, workdir, children)
        gateway = servers["gateway"]
        pid = gateway.process.pid
        figures["gateway_open_files_limit"] = _open_files_limit(pid)
        tokens = _bidder_tokens(servers["identity"].url, workdir / "tokens.txt")
        quiet = loop.run(books.open(QUIET_AUCTIONS))
        warm, alone, hot = (loop.run(books.open(1))[0] for _ in range(3))

        with RssSampler(pid) as sampler:
            # Warm-up: pools, the JWKS, first calls; then the bids with nobody watching.
            _bids(
                gateway,
                warm,
                tokens,
                argparse.Namespace(**{**vars(args), "duration": 2.0}),
                workdir / "warm.json",
            )
            before = _cpu(pid)
            load = _bids(gateway, alone, tokens, args, workdir / "alone.json")
            figures["alone"] = {
                "gateway_cpu_seconds": _cpu(pid) - before,
                "statuses": load["statuses"],
                "commits": len(load["commits"]),
            }

            with (
                Crowd(gateway, [hot], args.watchers, workdir) as crowd,
                PublishClock(name, hot) as published,
            ):
                figures["hot_connect_seconds"] = crowd.connect_seconds
                before, (busy, total) = _cpu(pid), host_jiffies()
                load = _bids(gateway, hot, tokens, args, workdir / "hot.json")
                time.sleep(DRAIN_SECONDS)
                cpu = _cpu(pid) - before
                busy_after, total_after = host_jiffies()
            # Upper bound: from the batch's server_time (taken before its commit);
            # lower bound: from the 201's arrival (after the commit and the answer's way).
            seen = delivery(crowd.result["watchers"], load["commits"], column=1)
            after = delivery(crowd.result["watchers"], load["commits"], column=2)
            publish = delivery(crowd.result["watchers"], published.seen, column=1)
            figures["hot"] = {
                **asdict(seen),
                "from_answer": {k: getattr(after, k) for k in ("p50_ms", "p99_ms", "max_ms")},
                "from_publish": {k: getattr(publish, k) for k in ("p50_ms", "p99_ms", "max_ms")},
                "published_versions": len(published.seen),
                "gateway_cpu_seconds": cpu,
                "machine_busy": (busy_after - busy) / max(total_after - total, 1),
                "statuses": load["statuses"],
                "bids_sent_for_seconds": load["sent_for_seconds"],
                "late_sends": load["late_sends"],
                "watchers_cpu_seconds": crowd.result["cpu_seconds"],
            }
            figures["hot_peak_rss_kib"] = sampler.peak_kib

        with RssSampler(pid) as sampler:
            time.sleep(1.0)
            before = _cpu(pid)
            busy = _busy(args.idle_seconds)
            baseline = (_cpu(pid) - before) / args.idle_seconds
            with Crowd(gateway, quiet, args.idle, workdir) as crowd:
                figures["idle_connect_seconds"] = crowd.connect_seconds
                time.sleep(2.0)  # the connections' own work settles
                before = _cpu(pid)
                busy_idle = _busy(args.idle_seconds)
                with_watchers = (_cpu(pid) - before) / args.idle_seconds
            figures["idle"] = {
                "watchers": args.idle,
                "auctions": QUIET_AUCTIONS,
                "gateway_cpu_ms_per_s_without": baseline * 1000,
                "gateway_cpu_ms_per_s_with": with_watchers * 1000,
                "added_cpu_ms_per_s": (with_watchers - baseline) * 1000,
                "machine_busy": max(busy, busy_idle),
                "closed_early": sum(
                    1 for r in crowd.result["watchers"] if r["close_code"] is not None
                ),
                "peak_rss_kib": sampler.peak_kib,
            }
        figures["gateway_errors"] = gateway.logged_errors()
    except Exception:
        for child in children:
            print(f"--- {child.name}'s log:\n{child.log_tail(15)}", file=sys.stderr)
        raise
    finally:
        for child in reversed(children):
            stop(child)
    return figures


def _ms(figures: dict[str, Any]) -> str:
    return f"{figures['p50_ms']:.1f} / {figures['p99_ms']:.1f} / {figures['max_ms']:.1f} ms"


def report(figures: dict[str, Any]) -> bool:
    hot, idle, alone = figures["hot"], figures["idle"], figures["alone"]
    delivered = max(hot["received"], 1)
    net = hot["gateway_cpu_seconds"] - alone["gateway_cpu_seconds"]
    figures["cpu_us_per_update"] = hot["gateway_cpu_seconds"] / delivered * 1e6
    figures["net_cpu_us_per_update"] = net / delivered * 1e6
    rss_mb = max(figures["hot_peak_rss_kib"], idle["peak_rss_kib"]) / 1024
    rows = [
        ("watchers of the hot auction", f"{hot['watchers']:,}"),
        (
            "bids (201 / sent)",
            f"{hot['statuses'].get('201', 0):,} / {sum(hot['statuses'].values()):,}"
            f" in {hot['bids_sent_for_seconds']:.1f} s",
        ),
        ("committed versions", f"{hot['versions']:,}"),
        (
            "updates delivered",
            f"{hot['received']:,} ({hot['received'] / max(hot['watchers'], 1):.0f} a watcher)",
        ),
        ("batch stamp -> watcher p50 / p99 / max", _ms(hot)),
        ("201 arrival -> watcher p50 / p99 / max", _ms(hot["from_answer"])),
        (
            f"publish -> watcher p50 / p99 / max ({hot['published_versions']:,} published)",
            _ms(hot["from_publish"]),
        ),
        ("watcher x version pairs (never delivered)", f"{hot['pairs']:,} ({hot['undelivered']:,})"),
        ("older books received", f"{hot['stepped_back']}"),
        ("largest lag (versions behind)", f"{hot['largest_lag']}"),
        ("watchers closed by the server", f"{hot['closed_early']}"),
        (
            "gateway CPU, bids alone / with watchers",
            f"{alone['gateway_cpu_seconds']:.2f} / {hot['gateway_cpu_seconds']:.2f} s",
        ),
        (
            "gateway CPU per delivered update",
            f"{figures['cpu_us_per_update']:.1f} us all in,"
            f" {figures['net_cpu_us_per_update']:.1f} us net of the bids",
        ),
        (
            "watchers' own process CPU (per update received)",
            f"{hot['watchers_cpu_seconds']:.2f} s"
            f" ({hot['watchers_cpu_seconds'] / max(hot['received'], 1) * 1e6:.1f} us)",
        ),
        (
            "gateway peak RSS (hot / idle)",
            f"{figures['hot_peak_rss_kib'] / 1024:.0f} / {idle['peak_rss_kib'] / 1024:.0f} MB",
        ),
        ("idle watchers (auctions)", f"{idle['watchers']:,} ({idle['auctions']})"),
        (
            "gateway CPU idle, without / with them",
            f"{idle['gateway_cpu_ms_per_s_without']:.2f}"
            f" / {idle['gateway_cpu_ms_per_s_with']:.2f} ms/s",
        ),
        ("machine busy (hot / idle)", f"{hot['machine_busy']:.0%} / {idle['machine_busy']:.0%}"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    goals = {
        f"feed p99 <= {P99_TARGET_MS:g} ms": hot["p99_ms"] <= P99_TARGET_MS,
        "never an older book": hot["stepped_back"] == 0,
        f"gateway RSS < {RSS_TARGET_MB:g} MB": rss_mb < RSS_TARGET_MB,
        f"{idle['watchers']:,} idle watchers < {IDLE_TARGET_MS_PER_S:g} ms CPU/s": (
            idle["added_cpu_ms_per_s"] < IDLE_TARGET_MS_PER_S
        ),
    }
    print()
    for goal, met in goals.items():
        print(f"{'PASS' if met else 'FAIL'} {goal}")
    print(
        f"CPU per delivered update: {figures['cpu_us_per_update']:.1f} us"
        f" ({figures['net_cpu_us_per_update']:.1f} us net of proxying the bids)"
    )
    if hot["machine_busy"] > 0.9:
        print("note: the machine was busy throughout; the latencies include waiting for a core")
    for error in figures["gateway_errors"]:
        print(f"gateway logged: {error}")
    figures["goals"] = goals
    return all(goals.values()) and not hot["undelivered"] and not hot["closed_early"]


def main() -> int:
    args = _arguments()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    _raise_fd_limit()
    name = unique_name()
    with (
        tempfile.TemporaryDirectory(prefix="feed-bench-") as workdir,
        asyncio.Runner() as loop,
        own_database(loop, name, lambda: Books.create(database_url(name))) as books,
    ):
        figures = measure(args, loop, Path(workdir), name, books)
    passed = report(figures)
    save_results(RESULTS_FILE, figures)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
