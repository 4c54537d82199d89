"""What the gateway costs: an authenticated GET straight to identity, and through the gateway.

In one run, in the distributed mode (one process per service, on PostgreSQL, Redis and
RabbitMQ at 127.0.0.1), wrk sends ``GET /api/v1/users/me`` with a bearer token (1) straight
to the identity process ("direct") and (2) to the gateway process, which verifies the token,
takes from the rate-limit buckets and forwards the request to identity ("gateway"), in
interleaved rounds (direct, gateway, gateway, direct) so that drift weighs on both. It
prints requests/s, p50 and p99 of each, the gateway/direct throughput ratio and the median
latency the gateway adds, against their targets (ratio >= 0.5, added p50 < 5 ms), and how
often identity served its JWKS meanwhile (the gateway caches the keys: a fetch or two).

It makes and removes by itself a fresh database, a unique Redis key prefix and RabbitMQ
exchange, and two child servers on free ports; traffic goes to 127.0.0.1 only. wrk, the
servers, PostgreSQL and Redis share the machine's cores, so the figures compare the two
targets on this machine; they are not the capacity of a deployment.

Run from the project root (needs wrk: ``apt-get install wrk``)::

    .venv/bin/python benchmarks/gateway.py [--duration 10] [--connections 32] [--quick]

The figures also go to ``benchmarks/results/gateway.json`` and, as JSON, to the last line
of stdout. Exit status 0 when both targets are met, 1 when one is missed or a run had
errors, 2 when wrk (or, with ``--profile``, py-spy) is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from _harness import (
    COMMAND,
    RESULTS_DIR,
    Child,
    Measurement,
    admin_sql,
    combine,
    forget,
    free_port,
    missing_wrk_tool,
    run,
    run_wrk,
    save_results,
    service_env,
    sign_up,
    start,
    stop,
    unique_name,
    wait_until,
)
from _profile import Recording, print_hot_spots

RESULTS_FILE = RESULTS_DIR / "gateway.json"

ME = "/api/v1/users/me"
JWKS = "/.well-known/jwks.json"
UNUSED_SERVICES = ("auction", "bidding", "payment", "notification", "analytics")
MIN_RATIO = 0.5
MAX_ADDED_P50_MS = 5.0


@dataclass(frozen=True)
class Figures:
    """Both measurements, and what identity was asked from the gateway's warm-up on."""

    direct: Measurement
    gateway: Measurement
    answers_since_gateway_warmup: int
    jwks_fetches: int
    identity_me_requests: int
    identity_other_requests: int
    rounds: int


def _gateway_reaches_identity(response: httpx.Response) -> bool:
    # The gateway's /health/ready stays 503 here: auction and bidding are critical to it
    # and are not running. What this benchmark needs is identity and Redis.
    statuses = {check["name"]: check["status"] for check in response.json().get("checks", [])}
    return statuses.get("identity") == "Healthy" and statuses.get("redis") == "Healthy"


_REQUESTS_TOTAL = re.compile(r'^http_requests_total\{[^}]*route="([^"]*)"[^}]*\} (\S+)$', re.M)


def _requests_by_route(http: httpx.Client, url: str) -> dict[str, float]:
    """A service's ``http_requests_total``, summed per route template."""
    counts: dict[str, float] = {}
    for route, value in _REQUESTS_TOTAL.findall(http.get(url + "/metrics").text):
        counts[route] = counts.get(route, 0.0) + float(value)
    return counts


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--rounds", type=int, default=2, help="measurements per target, interleaved (ABBA)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then record identity (direct) and both processes (gateway) with py-spy",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: one round, 3 s runs, 1 s warm-up"
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds = 3.0, 1.0, 1
    return args


def measure(args: argparse.Namespace, workdir: Path, name: str) -> Figures:
    """Start identity and the gateway, sign in, run wrk on each; the caller cleans up."""
    identity_port, gateway_port = free_port(), free_port()
    env = service_env(name, f"http://127.0.0.1:{identity_port}", unused=UNUSED_SERVICES)
    # The gateway has no database: identity's schema is the only one needed.
    run([*COMMAND, "migrate", "--service", "identity"], env=env, cwd=workdir, timeout=120)
    children: list[Child] = []
    try:
        with httpx.Client(timeout=10, trust_env=False) as http:
            children.append(start("identity", identity_port, env, workdir))
            wait_until(http, children[0], "/health/ready", lambda r: r.status_code == 200)
            children.append(start("gateway", gateway_port, env, workdir))
            wait_until(http, children[1], "/health/detail", _gateway_reaches_identity)
            identity, gateway = (child.url for child in children)
            _, token = sign_up(http, identity)

            wrk = {"threads": args.threads, "connections": args.connections}

            def once(target: str, url: str, seconds: float) -> Measurement:
                return run_wrk(target, url, token, seconds=seconds, **wrk)

            once("direct", identity + ME, args.warmup)
            # Counted from before the gateway's first request, so its cold JWKS fetch shows.
            before = _requests_by_route(http, identity)
            warm = once("gateway", gateway + ME, args.warmup)
            # Rounds in the order direct, gateway, gateway, direct, ...: whatever drifts
            # during a run (caches, pools, the machine's other load) weighs on both alike.
            rounds: dict[str, list[Measurement]] = {"direct": [], "gateway": []}
            for index in range(args.rounds):
                order = ("direct", "gateway") if index % 2 == 0 else ("gateway", "direct")
                for target in order:
                    url = (identity if target == "direct" else gateway) + ME
                    rounds[target].append(once(target, url, args.duration))
            after = _requests_by_route(http, identity)
            direct, through = combine(rounds["direct"]), combine(rounds["gateway"])
            answers = warm.requests + through.requests + direct.requests
            if args.profile:
                _profile(args, children, token)
    finally:
        for child in reversed(children):
            stop(child)
    delta = {route: after.get(route, 0.0) - before.get(route, 0.0) for route in after}
    return Figures(
        direct=direct,
        gateway=through,
        answers_since_gateway_warmup=answers,
        jwks_fetches=int(delta.get(JWKS, 0)),
        identity_me_requests=int(delta.get(ME, 0)),
        identity_other_requests=int(
            sum(n for route, n in delta.items() if route not in (ME, JWKS, "/metrics"))
        ),
        rounds=args.rounds,
    )


def _folded(target: str, process: str) -> Path:
    return RESULTS_DIR / f"gateway-{target}-{process}.folded"


def _profile(args: argparse.Namespace, children: list[Child], token: str) -> None:
    """One more round of each target under py-spy, after the measured ones."""
    identity, gateway = children
    wrk = {"threads": args.threads, "connections": args.connections}
    with Recording(identity.process.pid, args.duration, _folded("direct", "identity")):
        run_wrk("direct", identity.url + ME, token, seconds=args.duration, **wrk)
    with (
        Recording(identity.process.pid, args.duration, _folded("gateway", "identity")),
        Recording(gateway.process.pid, args.duration, _folded("gateway", "gateway")),
    ):
        run_wrk("gateway", gateway.url + ME, token, seconds=args.duration, **wrk)
    for target, process in (
        ("direct", "identity"),
        ("gateway", "identity"),
        ("gateway", "gateway"),
    ):
        print_hot_spots(f"{process} during the {target} round", _folded(target, process))


def report(args: argparse.Namespace, figures: Figures) -> bool:
    """Print the table and the verdicts, save the JSON; True when every target is met."""
    direct, gateway = figures.direct, figures.gateway
    ratio = gateway.requests_per_second / direct.requests_per_second
    added_p50 = gateway.p50_ms - direct.p50_ms
    passed = {
        "throughput_ratio": ratio >= MIN_RATIO,
        "added_p50": added_p50 < MAX_ADDED_P50_MS,
        "no_errors": direct.errors == 0 and gateway.errors == 0,
    }
    verdict = {name: "PASS" if ok else "FAIL" for name, ok in passed.items()}
    print(f"Gateway benchmark: GET {ME} with a bearer token, distributed mode")
    print(
        f"{os.cpu_count()} CPU cores shared by wrk, identity, gateway, PostgreSQL and Redis; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s x {args.rounds} "
        f"rounds per target (interleaved) after {args.warmup:g}s of warm-up each\n"
    )
    print(f"{'target':<10}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for m in (direct, gateway):
        print(
            f"{m.target:<10}{m.requests_per_second:>12.1f}{m.p50_ms:>10.2f}"
            f"{m.p99_ms:>10.2f}{m.errors:>8}"
        )
    print(
        f"\ngateway/direct throughput {ratio:7.3f}     (target >= {MIN_RATIO:g})    "
        f"{verdict['throughput_ratio']}\n"
        f"added median latency      {added_p50:7.2f} ms  (target < {MAX_ADDED_P50_MS:g} ms)  "
        f"{verdict['added_p50']}\n"
        f"identity from the gateway's warm-up on: {figures.jwks_fetches} JWKS fetch(es), "
        f"{figures.identity_me_requests} {ME} for {figures.answers_since_gateway_warmup} "
        f"answers to wrk (direct and through the gateway), "
        f"{figures.identity_other_requests} other request(s)"
    )
    if not passed["no_errors"]:
        print("FAIL: some answers were not 2xx or sockets failed; the figures are not valid")
    summary = {
        "cpu_count": os.cpu_count(),
        "wrk": {"threads": args.threads, "connections": args.connections},
        "duration_seconds": args.duration,
        **asdict(figures),
        "throughput_ratio": round(ratio, 3),
        "added_p50_ms": round(added_p50, 3),
        "targets": {"min_ratio": MIN_RATIO, "max_added_p50_ms": MAX_ADDED_P50_MS},
        "passed": passed,
    }
    save_results(RESULTS_FILE, summary)
    return all(passed.values())


def main() -> int:
    args = _arguments()
    missing = missing_wrk_tool(profiling=args.profile)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    # A SIGTERM to the benchmark still runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    name = unique_name()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as workdir:
        try:
            asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
            figures = measure(args, Path(workdir), name)
        finally:
            # Identity consumes nothing, so its migration declared only the two exchanges.
            asyncio.run(forget(name))
    return 0 if report(args, figures) else 1


if __name__ == "__main__":
    sys.exit(main())
