"""How soon the platform is ready: ``auction-platform up``, and ``serve`` one service.

Each run starts the real command as a child process and times it from the start of the
process to the first 200 from ``/health/ready`` (polled every 20 ms), then stops it
(SIGTERM) before the next run. Several runs per case give the median and the worst:

- ``up`` (fresh): every service in one process, a new data directory each run, so the
  five SQLite files are created and migrated too;
- ``up`` (migrated): the same, on a data directory an earlier run left behind;
- ``serve SERVICE`` (distributed, on PostgreSQL, Redis and RabbitMQ at 127.0.0.1): one
  service alone, after ``auction-platform migrate`` has run once (as the Kubernetes Job
  does before the pods start).

The target is the README's: ``up`` is ready in well under five seconds (median). Tests
no longer time start-up: a loaded machine would fail them for no fault of the code.

It makes and removes by itself a fresh database, a Redis key prefix and RabbitMQ
exchange and queue names; everything listens on 127.0.0.1. Run from the project root::

    .venv/bin/python benchmarks/startup.py [--runs 5] [--services identity,bidding] [--quick]

The figures also go to ``benchmarks/results/startup.json`` and, as JSON, to the last line
of stdout. Exit status 0 when the target is met, 1 when it is missed or a run failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from _harness import (
    COMMAND,
    RESULTS_DIR,
    Child,
    admin_sql,
    consumer_queues,
    forget,
    free_port,
    run,
    service_env,
    start,
    stop,
)
from _harness import unique_name as new_name

from auction_platform.settings import SERVICES

RESULTS_FILE = RESULTS_DIR / "startup.json"
READY = "/health/ready"
DEADLINE_SECONDS = 120.0
UP_TARGET_SECONDS = 5.0
ALL_SERVICES = ("identity", "auction", "bidding", "payment", "notification", "analytics")


@dataclass(frozen=True)
class Case:
    """One way of starting, timed over several runs (seconds to ready)."""

    name: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per case")
    parser.add_argument(
        "--services",
        default="identity,bidding",
        help="comma-separated services timed with `serve` (empty: none)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: two runs per case")
    args = parser.parse_args()
    if args.quick:
        args.runs = 2
    return args


def time_to_ready(child: Child, began: float) -> float:
    """Seconds from ``began`` until ``child`` answers 200 on ``/health/ready``."""
    with httpx.Client(timeout=5) as http:
        while time.perf_counter() - began < DEADLINE_SECONDS:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
            try:
                if http.get(child.url + READY).status_code == 200:
                    return time.perf_counter() - began
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise RuntimeError(f"{child.name} not ready after {DEADLINE_SECONDS:g}s:\n{child.log_tail()}")


def time_up(workdir: Path, data_dir: Path) -> float:
    """One ``auction-platform up`` on ``data_dir``: seconds to ready."""
    port = free_port()
    log = workdir / "up.log"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL")}
    env |= {"LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    command = [*COMMAND, "up", "--port", str(port), "--data-dir", str(data_dir)]
    began = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=output, stderr=subprocess.STDOUT
        )
    child = Child("up", f"http://127.0.0.1:{port}", process, log)
    try:
        return time_to_ready(child, began)
    finally:
        stop(child)


def time_serve(service: str, workdir: Path, env: dict[str, str]) -> float:
    """One ``auction-platform serve SERVICE`` on the migrated database: seconds to ready."""
    began = time.perf_counter()
    child = start(service, free_port(), env, workdir)
    try:
        return time_to_ready(child, began)
    finally:
        stop(child)


def measure(args: argparse.Namespace, workdir: Path, name: str) -> list[Case]:
    fresh = [time_up(workdir, workdir / f"fresh-{n}") for n in range(args.runs)]
    migrated = [time_up(workdir, workdir / "fresh-0") for _ in range(args.runs)]
    cases = [Case("up (fresh data)", fresh), Case("up (migrated data)", migrated)]
    services = [s for s in args.services.split(",") if s]
    if services:
        # Every other service's address points to a port nobody serves: a lone service
        # is ready without them (only the gateway waits for its callees).
        env = service_env(name, f"http://127.0.0.1:{free_port()}", unused=ALL_SERVICES)
        run([*COMMAND, "migrate"], timeout=DEADLINE_SECONDS, env=env, cwd=workdir)
        for service in services:
            seconds = [time_serve(service, workdir, env) for _ in range(args.runs)]
            cases.append(Case(f"serve {service}", seconds))
    return cases


def report(args: argparse.Namespace, cases: list[Case]) -> bool:
    """Print the table and the verdict, save the JSON; True when the target is met."""
    up = cases[0]
    passed = up.median < UP_TARGET_SECONDS
    print("Start-up benchmark: process start to the first 200 from /health/ready")
    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(
        f"{os.cpu_count()} CPU cores, load average {load} at the end; {args.runs} runs per case\n"
    )
    print(f"{'case':<22}{'median s':>10}{'max s':>10}   runs (s)")
    for case in cases:
        runs = " ".join(f"{s:.2f}" for s in case.seconds)
        print(f"{case.name:<22}{case.median:>10.2f}{case.worst:>10.2f}   {runs}")
    verdict = "PASS" if passed else "FAIL"
    print(f"\nup (fresh) median {up.median:.2f} s  (target < {UP_TARGET_SECONDS:g} s)  {verdict}")
    summary = {
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "runs": args.runs,
        "cases": [
            {**asdict(c), "median": round(c.median, 3), "max": round(c.worst, 3)} for c in cases
        ],
        "target": {"up_median_seconds": UP_TARGET_SECONDS},
        "passed": passed,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"(saved to {RESULTS_FILE})")
    print(json.dumps(summary))
    return passed


def main() -> int:
    args = _arguments()
    # A SIGTERM to the benchmark still runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    name = new_name()
    queues = asyncio.run(consumer_queues(name, SERVICES))
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as workdir:
        try:
            asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
            cases = measure(args, Path(workdir), name)
        finally:
            asyncio.run(forget(name, queues=queues))
    return 0 if report(args, cases) else 1


if __name__ == "__main__":
    sys.exit(main())
