"""The ``auction-platform`` command: run the platform, one service, or its migrations.

Nothing heavy is imported at the top of this module: ``--help`` and a mistyped
command answer at once, and each command imports what it uses (settings,
composition, FastAPI, SQLAlchemy, the services) when it runs.

An error an operator can fix (a database that does not exist, a server that is
down, a refused password, a malformed URL) ends the command with one line that
says what to do (``ops.errors``); anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auction_platform.ops import backup_commands, dead_letter_commands
from auction_platform.ops.console import (
    console,
    database_target,
    fail,
    load_settings,
    reaching,
    run_async,
    say,
)
from auction_platform.ops.serving import serve_app, serve_embedded

if TYPE_CHECKING:
    from auction_platform.composition import Platform
    from auction_platform.services.identity.handlers import Identity
    from auction_platform.settings import Settings

# settings.SERVICES, spelled out so that `serve --help` lists them without loading the
# settings (pydantic); tests/unit/test_cli.py keeps the two equal.
SERVICE_NAMES = (
    "gateway",
    "identity",
    "auction",
    "bidding",
    "payment",
    "notification",
    "analytics",
    "web",
)

cli = typer.Typer(
    name="auction-platform",
    help="An open online auction platform: seven services, embedded or distributed.",
    no_args_is_help=True,
    add_completion=False,
    # Plain help: flags read `--yes`, not `--yes <bool>` as in typer's rich panels.
    rich_markup_mode=None,
    # A bug's traceback must not print local variables: settings hold secrets.
    pretty_exceptions_show_locals=False,
)


@cli.command()
def up(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite files live.")] = Path("data"),
) -> None:
    """Run every service in this process: SQLite, in-process broker and cache."""
    serve_embedded(load_settings(data_dir=data_dir), host=host, port=port)


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
    import asyncio

    from auction_platform.core.failures import DomainError
    from auction_platform.ops.demo import (
        DemoAccount,
        DemoError,
        DemoReport,
        seed_in_process,
        seed_url,
    )
    from auction_platform.services.identity import handlers
    from auction_platform.services.identity.domain import CreateAdmin
    from auction_platform.settings import Environment

    settings = load_settings(data_dir=data_dir)
    if settings.environment is Environment.PRODUCTION:
        fail(
            "demo refuses to run with ENVIRONMENT=production "
            "(its accounts share a published password)"
        )
    failures = (DemoError, DomainError)

    def show(report: DemoReport) -> None:
        for line in report.lines():
            console().print(line, markup=False, highlight=False, soft_wrap=True)

    if url is not None:
        try:
            report = asyncio.run(seed_url(url, timeout=settings.http_timeout))
        except failures as error:
            fail(f"demo seeding of {url} failed: {error}")
        show(report)
        say("No operator account with --url: the demo only uses the public API there.")
        return

    async def seed_here(platform: Platform) -> None:
        identity = platform.runtimes["identity"].context

        async def make_admin(account: DemoAccount, password: str) -> None:
            command = CreateAdmin(account.email, password, account.display_name)
            await handlers.create_admin(command, ctx=identity)

        site = f"http://{host}:{port}/"
        try:
            report = await seed_in_process(platform.apps["gateway"], site=site, admin=make_admin)
        except failures as error:
            say(f"[red]Demo seeding failed:[/] {error}")
            return
        show(report)
        say(f"[bold green]Demo site[/] at {site}")

    serve_embedded(settings, host=host, port=port, when_ready=seed_here)


def _known_service(service: str) -> None:
    if service not in SERVICE_NAMES:
        fail(f"unknown service {service!r}; choose one of: {', '.join(SERVICE_NAMES)}", code=2)


@cli.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICE_NAMES)}.")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
) -> None:
    """Run one service, configured by the environment (Kubernetes, multi-process)."""
    _known_service(service)
    from auction_platform.composition import Platform
    from auction_platform.core.logging import configure_logging

    settings = load_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    platform = Platform(settings, [service], embedded=False)
    serve_app(
        platform.asgi_app(),
        host=host,
        port=port,
        graceful_seconds=25,
        ws_ping_interval=settings.ws_ping_interval_seconds,
    )


@cli.command("migrate")
def migrate_command(
    service: Annotated[
        str | None, typer.Option(help="Only this service (default: every service).")
    ] = None,
    create_database: Annotated[
        bool,
        typer.Option(
            "--create-database",
            help="Create a missing database first (PostgreSQL) or its folder (SQLite).",
        ),
    ] = False,
    maintenance_db: Annotated[
        str, typer.Option(help="With --create-database: where to connect to create it.")
    ] = "postgres",
) -> None:
    """Apply database migrations and declare the broker's queues; safe to run again."""
    if service:
        _known_service(service)
    from auction_platform.composition import DATABASE_SERVICES, Platform
    from auction_platform.core.logging import configure_logging
    from auction_platform.core.migrate import migrate, revision_status
    from auction_platform.ops import databases
    from auction_platform.ops.errors import OperatorError, Target, check_database_url
    from auction_platform.settings import SERVICES

    settings = load_settings()
    configure_logging(level="WARNING", json_lines=settings.log_json)
    wanted = [service] if service else list(SERVICES)
    targets = {name: database_target(settings, name) for name in DATABASE_SERVICES}
    targets = {name: target for name, target in targets.items() if name in wanted}

    async def prepare() -> None:
        for target in dict.fromkeys(targets.values()):
            check_database_url(target)
            if create_database:
                created = await databases.create_database(target, maintenance_db=maintenance_db)
                if created is not None:
                    say(f"created {created}")
            elif (folder := databases.missing_sqlite_folder(target)) is not None:
                raise OperatorError(
                    f"the folder {folder} of the SQLite file in {target.setting} does not "
                    "exist: create it, or run `auction-platform migrate --create-database`"
                )

    async def run() -> None:
        await prepare()
        # Built after the checks: a SQLite database makes its folder when built.
        platform = Platform(settings, wanted, embedded=False)
        try:
            for name, runtime in platform.runtimes.items():
                if runtime.db is None:
                    continue
                target = targets[name]
                before, head = await reaching(target, revision_status(runtime.db, name))
                await reaching(target, migrate(runtime.db, name))
                state = "up to date" if before == head else f"{before or 'empty'} -> {head}"
                say(f"{name}: {state}")
            if platform.broker is not None and settings.rabbitmq_url.startswith("amqp"):
                broker = Target("RabbitMQ", settings.rabbitmq_url, "RABBITMQ_URL")
                await reaching(broker, platform.broker.start())
                await reaching(broker, platform.declare_topology())
                say("broker: queues declared")
        finally:
            await platform.stop()

    run_async(run())


@cli.command("new-migration")
def new_migration(
    service: Annotated[str, typer.Argument(help="The service whose store.py changed.")],
    message: Annotated[str, typer.Argument(help="What it changes, e.g. 'notes on books'.")],
) -> None:
    """Draft a service's next migration from its store.py (Alembic autogenerate), to review."""
    import asyncio
    import tempfile

    from auction_platform.composition import DATABASE_SERVICES, DEFINITIONS
    from auction_platform.core.db import Database
    from auction_platform.core.migrate import draft_revision

    tables = DEFINITIONS[service].tables if service in DATABASE_SERVICES else None
    if tables is None:
        fail(f"no database in {service!r}; one of: {', '.join(DATABASE_SERVICES)}", code=2)

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
        say(f"{service}: the migrations already build what store.py declares")
        return
    say(f"[green]drafted[/] {path}: review it, then run the schema test")


@contextlib.asynccontextmanager
async def _identity(settings: Settings) -> AsyncIterator[Identity]:
    """The identity service's context alone, for commands that act as it.

    Only identity is built (not the platform and its apps): a one-off command pays for
    importing one service, not eight. Its events stay in its outbox, which the
    running identity service publishes.
    """
    from auction_platform.core.cache import build_cache
    from auction_platform.core.db import Database
    from auction_platform.core.metrics import Metrics
    from auction_platform.core.migrate import migrate
    from auction_platform.core.revocations import Revocations
    from auction_platform.core.service import ServiceRuntime
    from auction_platform.ops.errors import Target
    from auction_platform.services.identity.service import DEFINITION

    database = database_target(settings, "identity")
    db = Database(
        database.url,
        pool_size=2,
        connect_timeout=settings.dependency_timeout,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    cache = build_cache(settings.redis_url, prefix=settings.cache_prefix)
    # The token marks it writes (an account promoted) reach the running services
    # through the cache; a command need not follow them.
    runtime = ServiceRuntime(
        definition=DEFINITION,
        settings=settings,
        metrics=Metrics(),
        db=db,
        cache=cache,
        revocations=Revocations(cache),
    )
    try:
        await reaching(database, migrate(db, "identity"))
        await reaching(Target("Redis", settings.redis_url, "REDIS_URL"), cache.start())
        yield runtime.build_context()
    finally:
        await cache.close()
        await db.dispose()


def _one_off_settings() -> Settings:
    """Settings of a command that connects once, its database URL checked first."""
    from auction_platform.ops.errors import OperatorError, check_database_url

    settings = load_settings()
    try:
        check_database_url(database_target(settings, "identity"))
    except OperatorError as error:
        fail(error.message)
    return settings


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
    from auction_platform.core.logging import configure_logging
    from auction_platform.services.identity import handlers
    from auction_platform.services.identity.domain import CreateAdmin

    settings = _one_off_settings()
    configure_logging(level="WARNING", json_lines=settings.log_json)

    async def run() -> None:
        async with _identity(settings) as identity:
            command = CreateAdmin(email, password, display_name)
            user, created = await handlers.create_admin(command, ctx=identity)
        verb = "created" if created else "promoted"
        say(f"admin {verb}: {user.email} ({user.id})")

    try:
        run_async(run())
    except DomainError as error:
        fail(f"{error.message} ({error.code})")


@cli.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Start signing tokens with a new key; tokens signed before stay valid until they expire."""
    from auction_platform.core.logging import configure_logging

    settings = _one_off_settings()
    configure_logging(level="WARNING", json_lines=settings.log_json)

    async def run() -> str:
        async with _identity(settings) as identity:
            return await identity.keys.rotate()

    say(f"new signing key: {run_async(run())}")


# Backup and restore live beside the code they drive; registered here, in help order.
cli.command()(backup_commands.backup)
cli.command()(backup_commands.restore)
cli.add_typer(dead_letter_commands.app, name="dead-letters")


def main() -> None:
    """Entry point of the console script."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(cli())
