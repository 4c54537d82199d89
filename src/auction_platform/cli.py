"""The ``auction-platform`` command: run the platform, one service, or its migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from auction_platform.core.logging import configure_logging
from auction_platform.core.migrate import migrate
from auction_platform.settings import SERVICES, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from auction_platform.composition import Platform
    from auction_platform.services.identity.handlers import Identity

cli = typer.Typer(
    name="auction-platform",
    help="An open online auction platform: seven services, embedded or distributed.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
log = logging.getLogger("auction_platform")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        console.print("[bold red]Invalid configuration:[/]")
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            console.print(f"  {where.upper()}: {error['msg']}")
        raise typer.Exit(2) from exc


def _serve(
    app: object, *, host: str, port: int, graceful_seconds: int, forwarded_allow_ips: str
) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown; a stop
            # that drained cleanly is a clean exit (0) here, with no traceback.
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=graceful_seconds,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    server = Server(config)
    server.run()
    if not server.started:
        raise typer.Exit(1)


def _serve_embedded(
    settings: Settings,
    *,
    host: str,
    port: int,
    when_ready: Callable[[Platform], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Serve every service in this process; ``when_ready`` runs in the background once started.

    Background work still running when the server stops is cancelled before the
    platform stops, so it never talks to services that are shutting down.
    """
    from auction_platform.composition import Platform

    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    platform = Platform(settings, SERVICES, embedded=True)
    background: set[asyncio.Task[None]] = set()

    def finished(task: asyncio.Task[None]) -> None:
        background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    def ready() -> None:
        console.print(f"[bold green]Auction platform ready[/] at http://{host}:{port}")
        if when_ready is not None:
            task = asyncio.get_running_loop().create_task(when_ready(platform))
            background.add(task)
            task.add_done_callback(finished)

    app = platform.asgi_app(on_ready=ready)
    serving = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[None]:
        async with serving(served):
            try:
                yield
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)

    app.router.lifespan_context = lifespan
    _serve(
        app,
        host=host,
        port=port,
        graceful_seconds=10,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@cli.command()
def up(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite files live.")] = Path("data"),
) -> None:
    """Run every service in this process: SQLite, in-process broker and cache."""
    _serve_embedded(_settings(data_dir=data_dir), host=host, port=port)


@cli.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite files live.")] = Path("data"),
    url: Annotated[
        str | None,
        typer.Option(help="Only seed the platform at this URL (its gateway), then exit."),
    ] = None,
) -> None:
    """Like `up`, with demo sellers, bidders and lots in every state (never in production)."""
    import httpx

    from auction_platform.core.failures import DomainError
    from auction_platform.ops.demo import DemoAccount, DemoError, DemoReport, seed_demo
    from auction_platform.services.identity import handlers
    from auction_platform.services.identity.domain import CreateAdmin
    from auction_platform.settings import Environment

    settings = _settings(data_dir=data_dir)
    if settings.environment is Environment.PRODUCTION:
        console.print(
            "[red]demo refuses to run with ENVIRONMENT=production[/] "
            "(its accounts share a published password)",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    failures = (DemoError, DomainError, httpx.HTTPError)

    def show(report: DemoReport) -> None:
        for line in report.lines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)

    if url is not None:

        async def seed_remote() -> DemoReport:
            async with httpx.AsyncClient(base_url=url, timeout=settings.http_timeout) as http:
                return await seed_demo(http)

        try:
            report = asyncio.run(seed_remote())
        except failures as error:
            console.print(f"[red]Demo seeding of {url} failed:[/] {error}")
            raise typer.Exit(1) from error
        show(report)
        console.print("No operator account with --url: the demo only uses the public API there.")
        return

    async def seed_here(platform: Platform) -> None:
        identity = platform.runtimes["identity"].context

        async def make_admin(account: DemoAccount, password: str) -> None:
            command = CreateAdmin(account.email, password, account.display_name)
            await handlers.create_admin(command, ctx=identity)

        gateway = httpx.ASGITransport(app=platform.apps["gateway"], raise_app_exceptions=False)
        site = f"http://{host}:{port}/"
        try:
            async with httpx.AsyncClient(transport=gateway, base_url=site) as http:
                report = await seed_demo(http, admin=make_admin)
        except failures as error:
            console.print(f"[red]Demo seeding failed:[/] {error}")
            return
        show(report)
        console.print(f"[bold green]Demo site[/] at {site}")

    _serve_embedded(settings, host=host, port=port, when_ready=seed_here)


@cli.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}.")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
) -> None:
    """Run one service, configured by the environment (Kubernetes, multi-process)."""
    from auction_platform.composition import Platform

    if service not in SERVICES:
        console.print(f"[red]Unknown service {service!r}[/]; choose one of: {', '.join(SERVICES)}")
        raise typer.Exit(2)
    settings = _settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    platform = Platform(settings, [service], embedded=False)
    _serve(
        platform.asgi_app(),
        host=host,
        port=port,
        graceful_seconds=25,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@cli.command("migrate")
def migrate_command(
    service: Annotated[
        str | None, typer.Option(help="Only this service (default: every service).")
    ] = None,
) -> None:
    """Apply database migrations and declare the broker's queues; safe to run again."""
    from auction_platform.composition import Platform
    from auction_platform.core.migrate import revision_status

    if service and service not in SERVICES:
        console.print(f"[red]Unknown service {service!r}[/]; choose one of: {', '.join(SERVICES)}")
        raise typer.Exit(2)
    settings = _settings()
    configure_logging(level="WARNING", json_lines=settings.log_json)

    async def run() -> None:
        platform = Platform(settings, [service] if service else SERVICES, embedded=False)
        try:
            for name, runtime in platform.runtimes.items():
                if runtime.db is None:
                    continue
                before, head = await revision_status(runtime.db, name)
                await migrate(runtime.db, name)
                state = "up to date" if before == head else f"{before or 'empty'} -> {head}"
                console.print(f"{name}: {state}")
            if platform.broker is not None and settings.rabbitmq_url.startswith("amqp"):
                await platform.broker.start()
                await platform.declare_topology()
                console.print("broker: queues declared")
        finally:
            await platform.stop()

    asyncio.run(run())


@cli.command("new-migration")
def new_migration(
    service: Annotated[str, typer.Argument(help="The service whose store.py changed.")],
    message: Annotated[str, typer.Argument(help="What it changes, e.g. 'notes on books'.")],
) -> None:
    """Draft a service's next migration from its store.py (Alembic autogenerate), to review."""
    import tempfile

    from auction_platform.composition import DATABASE_SERVICES, DEFINITIONS
    from auction_platform.core.db import Database
    from auction_platform.core.migrate import draft_revision

    tables = DEFINITIONS[service].tables if service in DATABASE_SERVICES else None
    if tables is None:
        console.print(f"[red]No database in {service!r}[/]; one of: {', '.join(DATABASE_SERVICES)}")
        raise typer.Exit(2)

    async def run() -> Path | None:
        # Against an empty SQLite database brought to head: no server needed.
        with tempfile.TemporaryDirectory() as scratch:
            db = Database(f"sqlite+aiosqlite:///{scratch}/draft.sqlite3")
            try:
                return await draft_revision(db, service, tables.metadata, message)
            finally:
                await db.dispose()

    path = asyncio.run(run())
    if path is None:
        console.print(f"{service}: the migrations already build what store.py declares")
        return
    console.print(f"[green]drafted[/] {path}: review it, then run the schema test")


@contextlib.asynccontextmanager
async def _identity(settings: Settings) -> AsyncIterator[Identity]:
    """The identity service's context, for commands that act as it."""
    from auction_platform.composition import Platform

    platform = Platform(settings, ["identity"], embedded=False)
    try:
        runtime = platform.runtimes["identity"]
        assert runtime.db is not None
        await migrate(runtime.db, "identity")
        if platform.cache is not None:
            await platform.cache.start()
        yield runtime.context
    finally:
        await platform.stop()


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True, help="The admin's email.")],
    display_name: Annotated[str, typer.Option(prompt=True, help="The name others see.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="ADMIN_PASSWORD",
            help="Asked for when not given (or set ADMIN_PASSWORD).",
        ),
    ],
) -> None:
    """Create an admin account, or make an existing account an admin."""
    from auction_platform.core.failures import DomainError
    from auction_platform.services.identity import handlers
    from auction_platform.services.identity.domain import CreateAdmin

    settings = _settings()
    configure_logging(level="WARNING", json_lines=settings.log_json)

    async def run() -> None:
        async with _identity(settings) as identity:
            command = CreateAdmin(email, password, display_name)
            user, created = await handlers.create_admin(command, ctx=identity)
        verb = "created" if created else "promoted"
        console.print(f"admin {verb}: {user.email} ({user.id})")

    try:
        asyncio.run(run())
    except DomainError as error:
        console.print(f"[red]{error.message}[/] ({error.code})")
        raise typer.Exit(1) from error


@cli.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Start signing tokens with a new key; tokens signed before stay valid until they expire."""
    settings = _settings()
    configure_logging(level="WARNING", json_lines=settings.log_json)

    async def run() -> str:
        async with _identity(settings) as identity:
            return await identity.keys.rotate()

    console.print(f"new signing key: {asyncio.run(run())}")


@cli.command()
def backup(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The archive to write.")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Write <database>-<UTC time>.dump in this folder.")
    ] = None,
    keep: Annotated[
        int, typer.Option(min=0, help="With --output-dir: keep the newest N (0 keeps all).")
    ] = 0,
    database_url: Annotated[
        str | None, typer.Option(help="The database (default: DATABASE_URL).")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="The database of this service (<SERVICE>_DATABASE_URL).")
    ] = None,
) -> None:
    """Back up the database (pg_dump custom format, or a SQLite copy), verified."""
    from auction_platform.ops import backup as ops

    if (output is None) == (output_dir is None):
        console.print("[red]Give exactly one of --output FILE or --output-dir DIR.[/]")
        raise typer.Exit(2)
    try:
        db = ops.resolve_database(
            _settings(), url=database_url, service=service, environ=os.environ
        )
        path = output or (output_dir or Path()) / ops.archive_name(db)
        with ops.progress_bar(console) as progress:
            archive = ops.backup(db, path, progress=progress)
        pruned = ops.prune(path.parent, db, keep=keep) if output_dir and keep else []
    except ops.BackupError as error:
        console.print(f"[red]Backup failed:[/] {error}")
        raise typer.Exit(1) from error
    console.print(
        f"[green]backup written[/]: {archive.path} ({archive.size:,} bytes, "
        f"{archive.tables} tables, verified)"
    )
    for old in pruned:
        console.print(f"removed old backup {old}")


@cli.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="A file written by `auction-platform backup`.")],
    database_url: Annotated[
        str | None, typer.Option(help="The target database (default: DATABASE_URL).")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="The database of this service (<SERVICE>_DATABASE_URL).")
    ] = None,
    maintenance_db: Annotated[
        str, typer.Option(help="Where to connect to create a missing target database.")
    ] = "postgres",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before replacing.")] = False,
) -> None:
    """Restore a backup into a database (created if missing); its tables are replaced."""
    from auction_platform.ops import backup as ops

    try:
        db = ops.resolve_database(
            _settings(), url=database_url, service=service, environ=os.environ
        )
        if not yes:
            typer.confirm(f"Replace the tables of {db.name} with {archive}?", abort=True)
        with ops.progress_bar(console) as progress:
            tables = ops.restore(archive, db, maintenance_db=maintenance_db, progress=progress)
    except ops.BackupError as error:
        console.print(f"[red]Restore failed:[/] {error}")
        raise typer.Exit(1) from error
    console.print(f"[green]restored[/] {tables} tables into {db.name}")


def main() -> None:
    """Entry point of the console script."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(cli())
