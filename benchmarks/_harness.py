"""What the benchmarks share: child servers, the real backends and their clean-up.

Each benchmark makes a fresh PostgreSQL database, a Redis key prefix and RabbitMQ
exchange and queue names from one unique name, runs services as child processes in the
distributed mode, and removes all of it afterwards, even when a step fails. The servers
are those of ``DATABASE_URL`` (any database on it: the runs make their own), ``REDIS_URL``
and ``RABBITMQ_URL``; by default PostgreSQL, Redis and RabbitMQ at 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import asyncpg  # type: ignore[import-untyped]
import httpx
from _profile import py_spy
from redis.asyncio import Redis
from sqlalchemy.engine import URL, make_url

from auction_platform.composition import Platform
from auction_platform.core.broker.rabbitmq import RabbitBroker
from auction_platform.settings import Settings


def _postgres_server() -> URL:
    """``DATABASE_URL``'s PostgreSQL server; each run makes its own database on it."""
    url = make_url(os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    if url.get_backend_name() != "postgresql":
        raise SystemExit(f"DATABASE_URL must name a PostgreSQL server, not {url.drivername}")
    return url


_SERVER = _postgres_server()
POSTGRES_ADMIN_URL = _SERVER.set(drivername="postgresql").render_as_string(hide_password=False)
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
RABBITMQ_URL = os.environ.get("RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672/"
COMMAND = [sys.executable, "-m", "auction_platform"]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PASSWORD = "benchmark-Horse-Battery-42"  # noqa: S105 - throwaway accounts in a throwaway database
STARTUP_SECONDS = 30.0


@dataclass
class Child:
    """A server started by the benchmark; its output goes to a log file."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def logged_errors(self, limit: int = 5) -> list[str]:
        """The last distinct messages the server logged at ERROR level (JSON log lines)."""
        seen: dict[str, None] = {}
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                detail = f": {entry['error']}" if entry.get("error") else ""
                seen[f"{entry.get('message', '')}{detail}"[:300]] = None
        return list(seen)[-limit:]


def unique_name() -> str:
    """One name no other run uses, for the database, key prefix, exchange and queues."""
    return f"bench_{uuid.uuid4().hex[:10]}"


def database_url(name: str) -> str:
    """The SQLAlchemy URL of the benchmark's database."""
    url = _SERVER.set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _delete_cache_keys(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        keys = [key async for key in redis.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def forget(name: str, *, queues: Sequence[str] = (), databases: Sequence[str] = ()) -> None:
    """Drop the databases, the cache keys, the queues and the exchanges; each even if another fails.

    ``queues`` are consumer queue names without the prefix (their dead-letter queues go too);
    ``databases`` are scratch databases besides ``name``.
    """
    broker = RabbitBroker(RABBITMQ_URL, exchange=f"{name}.events", queue_prefix=f"{name}.")
    steps = {
        **{
            f"database {db}": admin_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            for db in (name, *databases)
        },
        "redis keys": _delete_cache_keys(f"{name}:"),
        "rabbitmq queues and exchanges": broker.delete_topology(list(queues)),
    }
    for what, step in steps.items():
        try:
            await step
        except Exception as exc:
            print(f"warning: could not remove {name}'s {what}: {exc}", file=sys.stderr)


async def consumer_queues(name: str, services: Sequence[str]) -> list[str]:
    """The consumer queues ``migrate`` declares for these services (without the prefix)."""
    settings = Settings(
        _env_file=None,
        database_url=database_url(name),
        redis_url="memory://",
        rabbitmq_url="memory://",
    )
    platform = Platform(settings, services, embedded=False, environ={})
    try:
        return [
            f"{runtime.name}.{consumer.name}"
            for runtime in platform.runtimes.values()
            for consumer in runtime.definition.consumers(runtime)
        ]
    finally:
        await platform.stop()


# What every served process gets under load: quiet logs, tokens that outlast a run, and
# rate limits no benchmark reaches (it sends from one address and a few accounts).
LOAD_ENV = {
    "LOG_LEVEL": "WARNING",
    "ACCESS_TOKEN_TTL_SECONDS": "3600",
    "RATE_LIMIT_PER_ADDRESS": "100000000",
    "RATE_LIMIT_PER_USER": "100000000",
    "AUTH_RATE_LIMIT_PER_ADDRESS": "1000",
    "PYTHONUNBUFFERED": "1",
}


class Opened(Protocol):
    """What a benchmark opens on its database: the queues it made, and a close."""

    def queue_names(self) -> list[str]: ...

    async def close(self) -> None: ...


OpenedT = TypeVar("OpenedT", bound=Opened)


@contextlib.contextmanager
def own_database(
    loop: asyncio.Runner,
    name: str,
    open_on: Callable[[], Coroutine[Any, Any, OpenedT]],
    *,
    scratch: Sequence[str] = (),
) -> Iterator[OpenedT]:
    """A fresh database ``name`` (and ``scratch`` ones) with what ``open_on`` opens on it.

    Afterwards, even when a step fails, it is closed and everything of ``name`` is
    forgotten (``forget``): the databases, cache keys, queues and exchanges.
    """
    queues: list[str] = []
    try:
        for database in (name, *scratch):
            loop.run(admin_sql(f'CREATE DATABASE "{database}"'))
        opened = loop.run(open_on())
        queues = opened.queue_names()
        try:
            yield opened
        finally:
            loop.run(opened.close())
    finally:
        loop.run(forget(name, queues=queues, databases=scratch))


def service_env(
    name: str,
    identity_url: str,
    *,
    unused: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a child service; ``unused`` services point to ports nobody serves."""
    # Our own *_URL variables must not leak into the children (as in the tests).
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL")}
    env |= {
        "DATABASE_URL": database_url(name),
        "REDIS_URL": REDIS_URL,
        "RABBITMQ_URL": RABBITMQ_URL,
        "RABBITMQ_EXCHANGE": f"{name}.events",
        "RABBITMQ_QUEUE_PREFIX": f"{name}.",
        "CACHE_PREFIX": f"{name}:",
        "IDENTITY_URL": identity_url,
        **LOAD_ENV,
    }
    for service in unused:
        env[f"{service.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    return env | dict(extra or {})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(command: list[str], timeout: float, **options: Any) -> str:
    """The command's output; raises with that output when it fails."""
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **options
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return str(done.stdout)


def start(name: str, port: int, env: dict[str, str], workdir: Path) -> Child:
    log = workdir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*COMMAND, "serve", name, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,  # away from a developer's .env
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Child(name, f"http://127.0.0.1:{port}", process, log)


def wait_until(
    http: httpx.Client, child: Child, path: str, ready: Callable[[httpx.Response], bool]
) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
        try:
            if ready(http.get(child.url + path)):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{child.name} not ready within {STARTUP_SECONDS:g}s:\n{child.log_tail()}")


def stop(child: Child) -> None:
    if child.process.poll() is None:
        child.process.send_signal(signal.SIGTERM)
        try:
            child.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


@dataclass(frozen=True)
class Measurement:
    """What wrk saw for one target; ``errors`` counts non-2xx answers and socket errors."""

    target: str
    url: str
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def combine(rounds: list[Measurement]) -> Measurement:
    """Several rounds of one target as one: requests/s and p50 averaged, the worst p99."""
    first = rounds[0]
    return Measurement(
        first.target,
        first.url,
        sum(m.requests for m in rounds),
        sum(m.requests_per_second for m in rounds) / len(rounds),
        sum(m.p50_ms for m in rounds) / len(rounds),
        max(m.p99_ms for m in rounds),
        sum(m.errors for m in rounds),
    )


_MS_PER_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_PERCENTILE = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(target: str, url: str, output: str) -> Measurement:
    """The figures of wrk's ``--latency`` report."""
    percentiles = {p: float(v) * _MS_PER_UNIT[unit] for p, v, unit in _PERCENTILE.findall(output)}
    requests, rate = _REQUESTS.search(output), _RATE.search(output)
    if requests is None or rate is None or set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"cannot read wrk's report:\n{output}")
    non_2xx, sockets = _NON_2XX.search(output), _SOCKET_ERRORS.search(output)
    errors = (int(non_2xx[1]) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    return Measurement(
        target, url, int(requests[1]), float(rate[1]), percentiles["50"], percentiles["99"], errors
    )


def run_wrk(
    target: str,
    url: str,
    token: str | None,
    *,
    threads: int,
    connections: int,
    seconds: float,
    script: Path | None = None,
) -> Measurement:
    """wrk on ``url`` (with a bearer token unless None, and a Lua ``script`` if given)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    command += ["-H", f"Authorization: Bearer {token}"] if token else []
    command += ["-s", str(script)] if script else []
    return parse_wrk(target, url, run([*command, url], timeout=seconds + 60))


def sign_up(http: httpx.Client, identity_url: str) -> tuple[str, str]:
    """Register a fresh account and sign in: its user id and access token."""
    # Neither the email nor the name may appear in the password (identity refuses that).
    account = {"email": f"load-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    user_id = ""
    for step, body in (("register", {**account, "display_name": "Load Test"}), ("login", account)):
        answer = http.post(f"{identity_url}/api/v1/auth/{step}", json=body)
        if answer.is_error:
            raise RuntimeError(f"{step} answered {answer.status_code}: {answer.text}")
        user_id = user_id or str(answer.json()["user"]["id"])
    return user_id, str(answer.json()["access_token"])


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (peak resident) of a process, in KiB."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0])
    return figures


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    # The command name may hold spaces and parentheses: count fields after the last ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def host_jiffies() -> tuple[int, int]:
    """Busy and total CPU time of the whole machine so far, in clock ticks."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


class RssSampler:
    """Samples a process's resident memory in a background thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stopped.is_set():
            try:
                self.peak_kib = max(self.peak_kib, memory_kib(self.pid).get("VmRSS", 0))
            except OSError:
                return  # the process is gone
            self._stopped.wait(self.interval)


def save_results(path: Path, summary: Mapping[str, Any]) -> None:
    """Write a run's summary as JSON beside the others, and print it on one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"(saved to {path})")
    print(json.dumps(summary))


def missing_wrk_tool(*, profiling: bool) -> str | None:
    """What must be installed before a wrk benchmark can run, or None."""
    if shutil.which("wrk") is None:
        return "wrk is not installed; install it with: apt-get install wrk"
    if profiling and py_spy() is None:
        return "py-spy is not installed: .venv/bin/pip install py-spy"
    return None


def host_busy_over(seconds: float = 1.0) -> float:
    """The share of every core of the machine busy over the next ``seconds`` (sleeps that long)."""
    busy, total = host_jiffies()
    time.sleep(seconds)
    busy_after, total_after = host_jiffies()
    return (busy_after - busy) / max(total_after - total, 1)
