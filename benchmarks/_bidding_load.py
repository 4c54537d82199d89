"""The load generators of the bidding benchmark: wrk with ``bidding/load.lua``, and pgbench."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from _harness import run

SCRIPTS = Path(__file__).resolve().parent / "bidding"
LUA_SCRIPT = SCRIPTS / "load.lua"
PGBENCH_SCHEMA = SCRIPTS / "pgbench_schema.sql"
PGBENCH_SCRIPT = SCRIPTS / "pgbench_bid.sql"
STOPPED = "bench: thread stopped"
RESULT = "bench-result "
# wrk's own -d only ends a run whose last answers never came; each thread stops by itself.
WRK_SAFETY_SECONDS = 30.0


@dataclass(frozen=True)
class Load:
    """One wrk run: answers by status, their rate over the run, latency percentiles."""

    scenario: str
    connections: int
    seconds: float
    statuses: dict[int, int]
    codes: dict[str, int]  # the error codes of the 4xx and 5xx answers
    sent: int
    unanswered: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    success_status: int

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def true_answers(self) -> int:
        """The route's own answers: its success, and for bids a refusal by the book (409)."""
        return self.succeeded + self.refused

    @property
    def per_second(self) -> float:
        """True answers a second: an error answer (a 500, say) is no measure of the route."""
        return self.true_answers / self.seconds if self.seconds > 0 else 0.0

    @property
    def succeeded(self) -> int:
        return self.statuses.get(self.success_status, 0)

    @property
    def refused(self) -> int:
        # A bid the book refuses is a normal answer; the no-op never answers 409.
        return self.statuses.get(409, 0) if self.success_status == 201 else 0

    @property
    def errors(self) -> int:
        return self.answered - self.succeeded - self.refused + self.socket_errors + self.unanswered


def run_wrk(
    scenario: str,
    base_url: str,
    *,
    connections: int,
    seconds: float,
    tokens: Path,
    auctions: Path | None,
    bid_field: str = "max_amount_cents",
) -> Load:
    """Run wrk with one thread per connection; no bid is in flight when it returns.

    ``bid_field`` names a bid's maximum in its body (``max_amount`` for revisions
    older than the ``*_cents`` name).
    """
    origin = time.clock_gettime(time.CLOCK_MONOTONIC)
    mode = "noop" if auctions is None else "bid"
    command = [
        "wrk",
        f"-t{connections}",
        f"-c{connections}",
        f"-d{seconds + WRK_SAFETY_SECONDS:g}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA_SCRIPT),
        base_url,
        "--",
        mode,
        f"{seconds:g}",
        f"{origin:.6f}",
        str(connections),
        str(tokens),
        str(auctions or "-"),
        bid_field,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    stopped, messages = 0, []
    for line in process.stderr:
        if line.strip() != STOPPED:
            messages.append(line)
            continue
        stopped += 1
        if stopped == connections:
            break
    # Every thread has had its last answer: end wrk's sleep rather than sit out its -d.
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    lines = [line for line in out.splitlines() if line.startswith(RESULT)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out}{''.join(messages)}{err}")
    figures = json.loads(lines[-1][len(RESULT) :])
    return Load(
        scenario=scenario,
        connections=connections,
        seconds=float(figures["seconds"]),
        statuses={int(status): int(n) for status, n in figures["statuses"].items()},
        codes={str(code): int(n) for code, n in figures["codes"].items()},
        sent=int(figures["sent"]),
        unanswered=int(figures["threads"]) - int(figures["stopped"]),
        p50_ms=float(figures["p50_us"]) / 1000,
        p99_ms=float(figures["p99_us"]) / 1000,
        max_ms=float(figures["max_us"]) / 1000,
        socket_errors=int(figures["socket_errors"]),
        success_status=200 if mode == "noop" else 201,
    )


def pgbench_binary() -> str | None:
    """pgbench from PATH, or from a PostgreSQL server package."""
    found = shutil.which("pgbench")
    if found is not None:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


async def create_pgbench_schema(database: str) -> None:
    """The hot book row and the bids table, in the scratch database."""
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        await connection.execute(PGBENCH_SCHEMA.read_text())
    finally:
        await connection.close()


_TPS = re.compile(r"^tps = ([\d.]+) \(without initial connection time\)", re.MULTILINE)


def run_pgbench(binary: str, database: str, *, clients: int, seconds: int) -> float:
    """Transactions per second of the per-bid script, with prepared statements (as asyncpg)."""
    command = [binary, "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-n", "-M", "prepared"]
    command += ["-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1))]
    command += ["-T", str(seconds), "-f", str(PGBENCH_SCRIPT), database]
    output = run(command, timeout=seconds + 60)
    found = _TPS.search(output)
    if found is None:
        raise RuntimeError(f"cannot read pgbench's report:\n{output}")
    return float(found[1])
