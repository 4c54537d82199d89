"""What a page costs: the lot page and the catalogue through the gateway, against its no-op.

In one run, in the distributed mode (one process per service: identity, auction, bidding,
analytics, web and the gateway, on PostgreSQL, Redis and RabbitMQ, ``DIAGNOSTICS=true``),
after seeding through the public API 50 open lots whose titles share one word, and a few
bids on one of them, wrk sends to the gateway, which serves the site from the web process:

1. ``GET /auctions/<id>``, anonymously: the lot page (web asks auction, bidding, identity);
2. ``GET /auctions?q=<word>``, anonymously: the catalogue (web asks analytics' search);
3. ``POST /diagnostics/noop`` with a bearer token: the no-op ceiling, as the bidding
   benchmark calls it, on this stack: the gateway checks the token, takes from the
   rate-limit buckets and forwards to the web process, whose lean path answers at once;

in interleaved rounds (the order reversed every round) so that drift weighs on all
alike. It prints requests/s, p50 and p99 of each and their throughput against the no-op
(targets: lot page >= 0.4, catalogue >= 0.3), the lot page's HTML size (< 60 KB) and the
gzip-compressed size of every CSS and JavaScript file the pages link under ``/static/``,
fetched through the gateway with ``Accept-Encoding: gzip`` (< 120 KB in all); KB here
are 1,000 bytes.

It makes and removes by itself a fresh database on ``DATABASE_URL``'s server, a unique
key prefix on ``REDIS_URL`` and exchanges and queues on ``RABBITMQ_URL`` (defaults: the
local servers at 127.0.0.1), and six child servers on free ports; traffic goes to
127.0.0.1 only. wrk, the servers, PostgreSQL, Redis and RabbitMQ share the machine's
cores, so the figures compare the targets on this machine; they are not the capacity of
a deployment.

Run from the project root (needs wrk: ``apt-get install wrk``)::

    .venv/bin/python benchmarks/web.py [--duration 8] [--connections 32] [--quick]

``--profile`` then records the web process with py-spy (not a project dependency:
``.venv/bin/pip install py-spy``) during one more round of each page, saves
``benchmarks/results/web-*.folded`` and prints where its CPU time goes.

The figures also go to ``benchmarks/results/web.json`` and, as JSON, to the last line of
stdout. Exit status 0 when every target is met, 1 when one is missed or a run had
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
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _harness import (
    COMMAND,
    PASSWORD,
    RESULTS_DIR,
    Child,
    Measurement,
    admin_sql,
    combine,
    consumer_queues,
    cpu_seconds,
    forget,
    free_port,
    host_jiffies,
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

RESULTS_FILE = RESULTS_DIR / "web.json"
# In start-up order after identity; payment and notification are not needed by the pages.
SERVICES = ("auction", "bidding", "analytics", "web", "gateway")
MIGRATED = ("identity", "auction", "bidding", "analytics")
UNUSED_SERVICES = ("payment", "notification")

NOOP = "/diagnostics/noop"
NOOP_SCRIPT = """wrk.method = "POST"
wrk.body = '{"value":100}'
wrk.headers["Content-Type"] = "application/json"
"""
WORD = "lantern"
LOTS = 50
BIDS = (1_500, 2_000, 2_600)  # max amounts in cents, one bidder each, on the measured lot
ADJECTIVES = (
    "brass",
    "copper",
    "storm",
    "railway",
    "ship's",
    "garden",
    "paper",
    "tin",
    "hurricane",
)
THINGS = ("with its glass chimney", "on a hook", "(1920s)", "pair", "and its case", "for a porch")

LOT, CATALOGUE, NOOP_TARGET = "lot page", "catalogue", "no-op ceiling"
MIN_RATIO = {LOT: 0.4, CATALOGUE: 0.3}
KB = 1_000
MAX_LOT_HTML_KB = 60.0
MAX_ASSETS_GZIP_KB = 120.0
BUSY_BEFORE = 0.15  # of every core, in the second before the run
SEEDING_SECONDS = 60.0

_STATIC_LINK = re.compile(r"""(?:href|src)=["'](/static/[^"'?#]+\.(?:css|js)(?:\?[^"'#]*)?)["']""")


@dataclass(frozen=True)
class Target:
    """One measured target: wrk's figures and the CPU time per answer of the processes."""

    measurement: Measurement
    cpu_ms_per_request: dict[str, float]  # by service

    @property
    def api_cpu_ms_per_request(self) -> float:
        """Identity, auction, bidding and analytics together."""
        return sum(ms for s, ms in self.cpu_ms_per_request.items() if s not in ("web", "gateway"))


@dataclass(frozen=True)
class Asset:
    """A static file the pages link, as it crossed the wire."""

    path: str
    transferred_bytes: int
    content_encoding: str


@dataclass(frozen=True)
class Figures:
    """Everything one run measured."""

    targets: dict[str, Target]
    lot_html_bytes: int
    assets: list[Asset]
    rounds: int
    server_errors: list[str]  # what the web process logged at ERROR level

    @property
    def assets_gzip_bytes(self) -> int:
        return sum(asset.transferred_bytes for asset in self.assets)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--rounds", type=int, default=2, help="measurements per target, interleaved"
    )
    parser.add_argument(
        "--page-cache-seconds",
        type=float,
        default=1.0,
        help="WEB_PAGE_CACHE_SECONDS of the web process (1, as deployed; 0: every page rendered)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s runs, 1 s warm-up")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then record the web process with py-spy during one more round of each page",
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    return args


def _start_services(
    name: str, workdir: Path, children: list[Child], *, page_cache_seconds: float
) -> dict[str, Child]:
    """Migrate, then start identity, the services the pages need, web and the gateway."""
    ports = {service: free_port() for service in ("identity", *SERVICES)}
    env = service_env(
        name,
        f"http://127.0.0.1:{ports['identity']}",
        unused=UNUSED_SERVICES,
        extra={
            **{f"{s.upper()}_URL": f"http://127.0.0.1:{ports[s]}" for s in SERVICES},
            "DIAGNOSTICS": "true",
            "WEB_PAGE_CACHE_SECONDS": str(page_cache_seconds),
        },
    )
    for service in MIGRATED:
        run([*COMMAND, "migrate", "--service", service], env=env, cwd=workdir, timeout=120)
    started: dict[str, Child] = {}
    with httpx.Client(timeout=10, trust_env=False) as http:
        # Identity first: the others fetch its keys and their service tokens from it.
        for group in (("identity",), SERVICES):
            for service in group:
                started[service] = start(service, ports[service], env, workdir)
                children.append(started[service])
            for service in group:
                # Ready means the critical dependencies answer; payment and
                # notification are not running, so some report Degraded.
                wait_until(http, started[service], "/health/ready", lambda r: r.status_code == 200)
    return started


def _call(
    http: httpx.Client, method: str, path: str, token: str | None = None, **kwargs: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = http.request(method, path, headers=headers, **kwargs)
    if answer.is_error:
        raise RuntimeError(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
    return answer.json()


def _seller_token(http: httpx.Client) -> str:
    """A fresh account with the seller role, signed in after asking for it."""
    account = {"email": f"seller-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    _call(http, "POST", "/api/v1/auth/register", json={**account, "display_name": "Lamp Shop"})
    token = _call(http, "POST", "/api/v1/auth/login", json=account)["access_token"]
    _call(http, "POST", "/api/v1/users/me/seller", token)
    # Roles travel in the token: a fresh login carries the seller role.
    return str(_call(http, "POST", "/api/v1/auth/login", json=account)["access_token"])


def _listing(index: int, starts_at: datetime) -> dict[str, Any]:
    adjective, thing = ADJECTIVES[index % len(ADJECTIVES)], THINGS[index % len(THINGS)]
    return {
        "title": f"{adjective.capitalize()} {WORD} {thing}, lot {index + 1}",
        "description": f"A {adjective} {WORD} in working order, wick and glass intact. "
        "Light wear to the finish from years of use; collection or courier.",
        "category": ("home", "collectibles", "art")[index % 3],
        "images": ["/static/demo/lamp.svg"],
        "currency": "EUR",
        "start_cents": 1_000 + 100 * index,
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(days=1)).isoformat(),
        "publish": True,
    }


def _until(what: str, attempt: Any) -> Any:
    """``attempt()``'s answer once it is not None, retried for up to SEEDING_SECONDS."""
    deadline = time.monotonic() + SEEDING_SECONDS
    while time.monotonic() < deadline:
        found = attempt()
        if found is not None:
            return found
        time.sleep(0.2)
    raise RuntimeError(f"{what} not within {SEEDING_SECONDS:g}s")


def _seed(gateway: str) -> tuple[str, str]:
    """Lots, and bids on the first, through the public API; that lot's id and a token."""
    with httpx.Client(base_url=gateway, timeout=30, trust_env=False) as http:
        seller = _seller_token(http)
        bidders = [sign_up(http, gateway)[1] for _ in BIDS]
        # The platform's clock: a lot listed to start then is open at once.
        now = datetime.fromisoformat(_call(http, "GET", "/api/v1/auctions")["server_time"])
        created = [
            _call(http, "POST", "/api/v1/auctions", seller, json=_listing(i, now))
            for i in range(LOTS)
        ]
        lots = [str(answer["auction"]["id"]) for answer in created]
        for token, cents in zip(bidders, BIDS, strict=True):

            def bid(token: str = token, cents: int = cents) -> bool | None:
                # 404 until bidding has opened the book on the auction's AuctionOpened.
                answer = http.post(
                    f"/api/v1/auctions/{lots[0]}/bids",
                    json={"max_amount_cents": cents},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if answer.status_code == 404:
                    return None
                if answer.status_code != 201:
                    raise RuntimeError(f"a bid answered {answer.status_code}: {answer.text[:300]}")
                return True

            _until("the lot's book", bid)

        def indexed() -> bool | None:
            found = _call(http, "GET", "/api/v1/search/auctions", params={"q": WORD, "limit": 1})
            return True if found["total"] >= LOTS else None

        _until(f"the search index's {LOTS} lots", indexed)
        return lots[0], bidders[0]


def _page_sizes(gateway: str, lot_id: str) -> tuple[int, list[Asset]]:
    """The lot page's HTML size, and every CSS and JS file the pages link, gzip-compressed."""
    links: set[str] = set()
    html_bytes = 0
    # A new client per page: no cookie from one page is sent with the next.
    for page in (f"/auctions/{lot_id}", f"/auctions?q={WORD}", "/"):
        with httpx.Client(base_url=gateway, timeout=10, trust_env=False) as http:
            answer = http.get(page, headers={"Accept-Encoding": "identity"})
        if answer.status_code != 200 or "text/html" not in answer.headers.get("content-type", ""):
            raise RuntimeError(f"GET {page} answered {answer.status_code}: {answer.text[:300]}")
        if page.startswith("/auctions/"):
            html_bytes = len(answer.content)
        links.update(_STATIC_LINK.findall(answer.text))
    assets = []
    with httpx.Client(base_url=gateway, timeout=10, trust_env=False) as http:
        for link in sorted(links):
            with http.stream("GET", link, headers={"Accept-Encoding": "gzip"}) as answer:
                size = sum(len(chunk) for chunk in answer.iter_raw())
            if answer.status_code != 200:
                raise RuntimeError(f"GET {link} answered {answer.status_code}")
            encoding = answer.headers.get("content-encoding", "none")
            assets.append(Asset(link, size, encoding))
    return html_bytes, assets


def _check_targets(urls: dict[str, str], token: str, lot_id: str) -> None:
    """Each target answers 200 with what it should, before wrk counts anything."""
    with httpx.Client(timeout=10, trust_env=False) as http:
        lot = http.get(urls[LOT])
        catalogue = http.get(urls[CATALOGUE])
        noop = http.post(
            urls[NOOP_TARGET],
            json={"value": 100},
            headers={"Authorization": f"Bearer {token}"},
        )
    problems = [
        f"{what} answered {answer.status_code}: {answer.text[:300]}"
        for what, answer in ((LOT, lot), (CATALOGUE, catalogue), (NOOP_TARGET, noop))
        if answer.status_code != 200
    ]
    if not problems and WORD not in lot.text.lower():
        problems.append(f"the lot page of {lot_id} does not show the lot")
    if not problems and catalogue.text.lower().count(WORD) < 10:
        problems.append(f"the catalogue does not list the lots found for {WORD!r}")
    if problems:
        raise RuntimeError("; ".join(problems))


def measure(args: argparse.Namespace, workdir: Path, name: str) -> Figures:
    """Start the services, seed, check the pages, run wrk on each target; the caller cleans up."""
    children: list[Child] = []
    try:
        started = _start_services(
            name, workdir, children, page_cache_seconds=args.page_cache_seconds
        )
        web, gateway = started["web"], started["gateway"]
        lot_id, token = _seed(gateway.url)
        urls = {
            LOT: f"{gateway.url}/auctions/{lot_id}",
            CATALOGUE: f"{gateway.url}/auctions?q={WORD}",
            NOOP_TARGET: gateway.url + NOOP,
        }
        _check_targets(urls, token, lot_id)
        html_bytes, assets = _page_sizes(gateway.url, lot_id)
        script = workdir / "noop.lua"
        script.write_text(NOOP_SCRIPT)
        wrk = {"threads": args.threads, "connections": args.connections}

        def once(target: str, seconds: float) -> tuple[Measurement, dict[str, float]]:
            """One wrk run, and the CPU seconds each service used meanwhile."""
            noop = target == NOOP_TARGET
            before = {s: cpu_seconds(child.process.pid) for s, child in started.items()}
            measured = run_wrk(
                target,
                urls[target],
                token if noop else None,
                seconds=seconds,
                script=script if noop else None,
                **wrk,
            )
            used = {s: cpu_seconds(c.process.pid) - before[s] for s, c in started.items()}
            return measured, used

        order = (LOT, CATALOGUE, NOOP_TARGET)
        for target in order:
            once(target, args.warmup)
        # Rounds in the order A B C, C B A, ...: whatever drifts during a run (caches,
        # pools, the machine's other load) weighs on every target alike.
        rounds: dict[str, list[tuple[Measurement, dict[str, float]]]] = {t: [] for t in order}
        for index in range(args.rounds):
            for target in order if index % 2 == 0 else tuple(reversed(order)):
                rounds[target].append(once(target, args.duration))
        if args.profile:
            for target in (LOT, CATALOGUE):
                with Recording(web.process.pid, args.duration, _folded(target)):
                    once(target, args.duration)
        server_errors = web.logged_errors()
    finally:
        for child in reversed(children):
            stop(child)
    targets = {}
    for target, runs in rounds.items():
        measured = combine([m for m, _ in runs])
        per_request = 1000 / max(measured.requests, 1)
        used = {s: round(sum(cpu[s] for _, cpu in runs) * per_request, 3) for s in started}
        targets[target] = Target(measured, used)
    return Figures(targets, html_bytes, assets, args.rounds, server_errors)


def _folded(target: str) -> Path:
    return RESULTS_DIR / f"web-{target.replace(' ', '-')}.folded"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args: argparse.Namespace, figures: Figures) -> bool:
    """Print the table and the verdicts, save the JSON; True when every target is met."""
    noop = figures.targets[NOOP_TARGET].measurement
    ratios = {
        target: t.measurement.requests_per_second / noop.requests_per_second
        for target, t in figures.targets.items()
    }
    html_kb, assets_kb = figures.lot_html_bytes / KB, figures.assets_gzip_bytes / KB
    passed = {
        **{f"{target} ratio": ratios[target] >= low for target, low in MIN_RATIO.items()},
        "lot page html": html_kb < MAX_LOT_HTML_KB,
        "css and js gzip": assets_kb < MAX_ASSETS_GZIP_KB,
        "no_errors": all(t.measurement.errors == 0 for t in figures.targets.values()),
    }
    print("Web benchmark: pages through the gateway, distributed mode")
    print(
        f"{os.cpu_count()} CPU cores shared by wrk, six services, PostgreSQL, Redis and "
        f"RabbitMQ; wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s x "
        f"{args.rounds} rounds per target (interleaved) after {args.warmup:g}s of warm-up each"
    )
    print(
        f"anonymous pages kept {args.page_cache_seconds:g} s by the web process"
        + (" (the deployed default)" if args.page_cache_seconds == 1 else "")
    )
    print(
        f"no-op ceiling: POST {NOOP} with a bearer token and a JSON body, through the gateway "
        "(token check, rate limit, forward) to the web process's lean no-op\n"
    )
    print(
        f"{'target':<15}{'requests/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'x no-op':>9}"
        f"{'target':>8}{'':>6}{'errors':>8}{'web CPU':>9}{'gw CPU':>8}{'API CPU':>9}"
    )
    for target, t in figures.targets.items():
        m = t.measurement
        low = MIN_RATIO.get(target)
        goal = f">= {low:g}" if low is not None else "-"
        verdict = _verdict(passed[f"{target} ratio"]) if low is not None else ""
        print(
            f"{target:<15}{m.requests_per_second:>11.1f}{m.p50_ms:>9.2f}{m.p99_ms:>9.2f}"
            f"{ratios[target]:>9.3f}{goal:>8}{verdict:>6}{m.errors:>8}"
            f"{t.cpu_ms_per_request['web']:>9.2f}{t.cpu_ms_per_request['gateway']:>8.2f}"
            f"{t.api_cpu_ms_per_request:>9.2f}"
        )
    print("(CPU ms per answer: web, the gateway, and identity, auction, bidding and analytics)\n")
    print(
        f"lot page HTML            {html_kb:7.1f} KB  (target < {MAX_LOT_HTML_KB:g} KB)   "
        f"{_verdict(passed['lot page html'])}"
    )
    print(
        f"CSS and JS, gzip, total  {assets_kb:7.1f} KB  (target < {MAX_ASSETS_GZIP_KB:g} KB)  "
        f"{_verdict(passed['css and js gzip'])}"
    )
    for asset in figures.assets:
        print(
            f"  {asset.path:<40}{asset.transferred_bytes:>8} bytes  "
            f"Content-Encoding: {asset.content_encoding}"
        )
    if args.busy_before > BUSY_BEFORE:
        print(
            f"warning: the machine was {100 * args.busy_before:.0f}% busy before the run; "
            "the figures are skewed by other load"
        )
    if not passed["no_errors"]:
        print("FAIL: some answers were not 2xx or sockets failed; the figures are not valid")
    for message in figures.server_errors:
        print(f"web logged: {message}")
    summary = {
        "cpu_count": os.cpu_count(),
        "wrk": {"threads": args.threads, "connections": args.connections},
        "duration_seconds": args.duration,
        "host_busy_before": round(args.busy_before, 3),
        **asdict(figures),
        "assets_gzip_bytes": figures.assets_gzip_bytes,
        "ratios": {target: round(ratio, 3) for target, ratio in ratios.items()},
        "targets_set": {
            "min_ratio": MIN_RATIO,
            "max_lot_html_kb": MAX_LOT_HTML_KB,
            "max_assets_gzip_kb": MAX_ASSETS_GZIP_KB,
        },
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
    busy, total = host_jiffies()
    time.sleep(1.0)
    busy_after, total_after = host_jiffies()
    args.busy_before = (busy_after - busy) / max(total_after - total, 1)
    name = unique_name()
    queues = asyncio.run(consumer_queues(name, MIGRATED))
    with tempfile.TemporaryDirectory(prefix="web-bench-") as workdir:
        try:
            asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
            figures = measure(args, Path(workdir), name)
        finally:
            asyncio.run(forget(name, queues=queues))
    passed = report(args, figures)
    if args.profile:
        for target in (LOT, CATALOGUE):
            print_hot_spots(f"web during the {target} round", _folded(target))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
