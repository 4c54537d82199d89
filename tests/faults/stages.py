"""The platform under test, in either mode, with the faults it can be given and its records.

Distributed: identity, auction, bidding and the gateway each served by its own process
(``auction-platform serve``), reaching PostgreSQL, Redis and RabbitMQ through fault
proxies; the faults are a cut of each server in turn, then a ``kill -9`` of bidding,
started again. Embedded: ``auction-platform up`` on SQLite, killed with -9 and started
again on the same data directory.

The records (books, ledger, outboxes, inboxes) are read by an inspector: a platform of
the same services on the same databases, never started, that reaches them directly.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select

from auction_platform.composition import DATABASE_SERVICES, Platform
from auction_platform.core.service import Consumer
from auction_platform.core.sql import utc
from auction_platform.services.bidding import store
from auction_platform.settings import Settings
from faults.checks import Event, Subscriber
from faults.scenario import Fault
from support import queue_sets
from support.http_server import free_port
from support.platforms import embedded_settings
from support.processes import Child, all_started, child_env, started
from support.queue_sets import queue_names
from support.servers import RABBITMQ_URL, REDIS_URL, postgres_database, unique_name
from support.tcp_proxy import TcpProxy

SERVED = ("identity", "auction", "bidding", "gateway")
OUTAGE = 10.0  # seconds a server stays cut
DOWN = 2.0  # seconds a killed process stays down before it is started again
STARTS = 3  # times a killed process is started before the history gives up on it
# Thousands of bids from a few accounts on one address: no rate limit may refuse them.
UNLIMITED = {
    "RATE_LIMIT_PER_USER": "1000000",
    "RATE_LIMIT_PER_ADDRESS": "1000000",
    "AUTH_RATE_LIMIT_PER_ADDRESS": "1000000",
    "LOG_LEVEL": "WARNING",
}
# A dead-lettered event, as either broker logs it.
DEAD_LETTERED = ("dead-lettered", "dead-lettering it")


@dataclass
class Stage:
    """A running platform: its gateway, its faults, and how to read what it recorded."""

    mode: str
    url: str
    faults: list[Fault]
    inspector: Platform
    # Takes what was dead-lettered since the last call: a line for each.
    take_dead_letters: Callable[[], Awaitable[list[str]]]
    # Seconds of history before the first fault, beyond its calm: enough bids in all.
    warm_up: float = 0.0
    kills: list[float] = field(default_factory=list)
    # How long each killed process took to answer again once started (notes for the table).
    restarts: list[str] = field(default_factory=list)

    def excused(self, event: Event) -> bool:
        """A loss the mode documents: the in-process broker loses what it holds at a kill."""
        return self.mode == "embedded" and any(event.created_at <= kill for kill in self.kills)

    def killing(self, child: Child, name: str) -> Fault:
        """``kill -9`` of a served process, started again on its port after ``DOWN`` s.

        The fault ends when the new process answers: how soon a process starts is the
        start-up benchmark's measure (``benchmarks/startup.py``), and depends on the
        machine; what this fault measures is how soon bids flow once it is back. A
        process that exits while starting is started again, as its orchestrator would
        (up to ``STARTS`` times), and the notes say why it exited.
        """

        async def kill() -> None:
            self.kills.append(time.time())
            await child.kill()

        async def start_again() -> None:
            began = time.monotonic()
            for _ in range(STARTS):
                await child.spawn()
                try:
                    await child.until_ready()
                except AssertionError:
                    if child.process.returncode is None:
                        raise  # running, and never answering
                    self.restarts.append(f"{name} exited while starting: {_last_error(child)}")
                    continue
                took = time.monotonic() - began
                self.restarts.append(f"{name} answered {took:.1f} s after it was started again")
                return
            raise AssertionError(f"{name} exited each of the {STARTS} times it was started")

        return Fault(f"kill -9 of {name}, started again", inject=kill, lift=start_again, lasts=DOWN)

    async def ledger(self) -> tuple[list[Any], list[Any]]:
        """Every book and every ledger row of the bidding service."""
        db = self.inspector.runtimes["bidding"].db
        assert db is not None
        async with db.read() as conn:
            books = (await conn.execute(select(store.books))).all()
            bids = (await conn.execute(select(store.bids))).all()
        return list(books), list(bids)

    async def events(self) -> tuple[list[Event], dict[tuple[str, str], set[str]]]:
        """Every event in every outbox, and what each consumer's inbox holds."""
        events: list[Event] = []
        inboxes: dict[tuple[str, str], set[str]] = {}
        for name, runtime in self.inspector.runtimes.items():
            tables, db = runtime.definition.tables, runtime.db
            if tables is None or db is None:
                continue
            outbox, inbox = tables.outbox, tables.inbox
            async with db.read() as conn:
                sent = await conn.execute(
                    select(outbox.c.event_id, outbox.c.event_type, outbox.c.created_at).add_columns(
                        outbox.c.published_at.is_not(None).label("published")
                    )
                )
                received = await conn.execute(select(inbox.c.consumer, inbox.c.event_id))
                events += [
                    Event(
                        name, r.event_id, r.event_type, utc(r.created_at).timestamp(), r.published
                    )
                    for r in sent
                ]
                for consumer, event_id in received:
                    inboxes.setdefault((name, consumer), set()).add(event_id)
        return events, inboxes

    def subscribers(self) -> list[Subscriber]:
        """The consumers with an inbox, among the services the inspector reads."""
        return [
            Subscriber(runtime.name, consumer.name, consumer.patterns)
            for runtime in self.inspector.runtimes.values()
            for consumer in runtime.definition.consumers(runtime)
            if isinstance(consumer, Consumer)
        ]


def _via(url: str, proxy: TcpProxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy.port}" if credentials else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _cutting(name: str, proxy: TcpProxy) -> Fault:
    return Fault(f"{name} cut {OUTAGE:.0f} s", inject=proxy.cut, lift=proxy.restore, lasts=OUTAGE)


@contextlib.asynccontextmanager
async def distributed(workdir: Path, services: Sequence[str] = SERVED) -> AsyncIterator[Stage]:
    """One process per service behind fault proxies, on this test process's queue set."""
    async with contextlib.AsyncExitStack() as stack:
        database = await stack.enter_async_context(postgres_database("faults"))
        proxies: dict[str, TcpProxy] = {}
        reached: dict[str, str] = {}
        for server, url in (
            ("PostgreSQL", database),
            ("Redis", REDIS_URL),
            ("RabbitMQ", RABBITMQ_URL),
        ):
            parts = urlsplit(url)
            proxy = proxies[server] = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 0)
            await proxy.start()
            stack.push_async_callback(proxy.cut)
            reached[server] = _via(url, proxy)
        # This test process's queue set (emptied by the ``rabbitmq_url`` fixture), a cache
        # prefix of its own.
        names = {**queue_sets.child_environ(), "CACHE_PREFIX": unique_name("c") + ":"}
        settings: dict[str, Any] = {key.lower(): value for key, value in names.items()}
        inspector = Platform(
            Settings(  # type: ignore[call-arg]
                _env_file=None,
                database_url=database,
                rabbitmq_url=RABBITMQ_URL,
                db_pool_size=2,
                **settings,
            ),
            [name for name in services if name in DATABASE_SERVICES],
            embedded=False,
            environ={},
        )
        assert inspector.broker is not None
        await inspector.broker.start()
        stack.push_async_callback(inspector.stop)
        await inspector.migrate()
        await inspector.declare_topology()
        ports = {name: free_port() for name in services}
        env = child_env(
            DATABASE_URL=reached["PostgreSQL"],
            REDIS_URL=reached["Redis"],
            RABBITMQ_URL=reached["RabbitMQ"],
            **names,
            **{f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
            **UNLIMITED,
        )
        children = {
            name: Child(("serve", name), port=port, env=env, log=workdir / f"{name}.log")
            for name, port in ports.items()
        }
        # Started together; the gateway is ready once the services it needs are.
        await stack.enter_async_context(
            all_started(
                {
                    child: "/health/ready" if name == "gateway" else "/health/live"
                    for name, child in children.items()
                }
            )
        )
        broker = inspector.broker

        async def take_dead_letters() -> list[str]:
            taken = []
            for queue in queue_names(inspector):
                while letters := await broker.take_dead_letters(queue, limit=500):
                    taken += [f"{queue}: {e.type} {e.id}" for e in letters]
            return taken

        stage = Stage(
            "distributed", children["gateway"].url, [], inspector, take_dead_letters, warm_up=5.0
        )
        stage.faults = [_cutting(server, proxy) for server, proxy in proxies.items()]
        stage.faults.append(stage.killing(children["bidding"], "bidding"))
        yield stage


@contextlib.asynccontextmanager
async def embedded(workdir: Path) -> AsyncIterator[Stage]:
    """``auction-platform up`` on SQLite in ``workdir``, as a newcomer runs it."""
    data = workdir / "data"
    log = workdir / "up.log"
    async with started(
        "up",
        "--data-dir",
        str(data),
        port=free_port(),
        env=child_env(**UNLIMITED),
        cwd=workdir,
        ready_path="/health/ready",
        log=log,
    ) as up:
        inspector = Platform(embedded_settings(data), DATABASE_SERVICES, embedded=False, environ={})
        read = 0

        async def take_dead_letters() -> list[str]:
            # The in-process broker's dead letters live and die with the process: its
            # log is the record of them.
            nonlocal read
            with log.open("rb") as lines:
                lines.seek(read)
                text = lines.read()
            text = text[: text.rfind(b"\n") + 1]  # whole lines only
            read += len(text)
            return _dead_letters_logged(text.decode(errors="replace"))

        stage = Stage("embedded", up.url, [], inspector, take_dead_letters, warm_up=20.0)
        stage.faults = [stage.killing(up, "up (every service)")]
        try:
            yield stage
        finally:
            await inspector.stop()


def _last_error(child: Child) -> str:
    """The last line of the last traceback a child logged (else its last error message)."""
    if child.log is None:
        return "no log"
    message, traceback = "no error logged", ""
    for line in child.log.read_text(errors="replace").splitlines()[-200:]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("level") not in ("error", "critical"):
            continue
        text = str(record.get("exception") or record.get("message") or "").strip()
        if "\n" in text:
            traceback = text.splitlines()[-1]
        elif text:
            message = text
    return traceback or message


def _dead_letters_logged(text: str) -> list[str]:
    """The dead-lettered events in a stretch of JSON log lines."""
    found = []
    for line in text.splitlines():
        if not any(phrase in line for phrase in DEAD_LETTERED):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        message = str(record.get("message", ""))
        if any(phrase in message for phrase in DEAD_LETTERED):
            found.append(message)
    return found
