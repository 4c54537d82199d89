"""How the command line serves: an app under uvicorn, or every service in one process.

``serve_app`` is uvicorn as every process of the platform runs it (its WebSocket
protocol, pings, graceful stop); ``serve_embedded`` is ``up`` and ``demo``: the whole
platform in this process on its data directory. Like the command line, nothing heavy
is imported until a server starts.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any

import typer

from auction_platform.ops.console import fail, say

if TYPE_CHECKING:
    from fastapi import FastAPI

    from auction_platform.composition import Platform
    from auction_platform.settings import Settings

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# A peer that does not answer a ping within this is taken for gone.
_WS_PONG_TIMEOUT_SECONDS = 60.0


def serve_app(
    app: object, *, host: str, port: int, graceful_seconds: int, ws_ping_interval: float
) -> None:
    """Serve ``app`` under uvicorn until a stop signal; exit 1 if it never started."""
    import uvicorn

    from auction_platform.core.websocket import LeanWebSocketProtocol

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
        # The apps resolve the client themselves, from TRUSTED_PROXIES (core/net.py);
        # uvicorn's own resolution would trust FORWARDED_ALLOW_IPS (127.0.0.1) first.
        proxy_headers=False,
        # The live feed sends the same small book to many watchers: compressing it per
        # connection cost CPU on every send and a compressor's memory per watcher
        # (about 60 KB: 2,000 watchers took the gateway from 100 to 300 MB).
        ws_per_message_deflate=False,
        # The sans-I/O protocol keeps no tasks or stream buffers per connection: 31 KB
        # a watcher against the older protocol's 38 KB (3,000 idle sockets, one app);
        # ours keeps less again (core/websocket.py).
        ws=LeanWebSocketProtocol,
        # Pings wake the server once per connection and interval: rare enough that an
        # idle crowd costs next to nothing (WS_PING_INTERVAL_SECONDS, settings).
        ws_ping_interval=ws_ping_interval or None,
        ws_ping_timeout=min(ws_ping_interval, _WS_PONG_TIMEOUT_SECONDS) or None,
    )
    server = Server(config)
    server.run()
    if not server.started:
        raise typer.Exit(1)


def serve_embedded(
    settings: Settings,
    *,
    host: str,
    port: int,
    when_ready: Callable[[Platform], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Serve every service in this process; ``when_ready`` runs in the background once started.

    Background work still running when the server stops is cancelled before the
    platform stops, so it never talks to services that are shutting down. The data
    directory is marked in use meanwhile, so a restore never replaces its files.
    """
    import asyncio
    import logging

    from auction_platform.composition import Platform
    from auction_platform.core.logging import configure_logging
    from auction_platform.ops.data_dir import DataDirBusy, running_in
    from auction_platform.settings import SERVICES

    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    log = logging.getLogger("auction_platform")
    platform = Platform(settings, SERVICES, embedded=True)
    background: set[asyncio.Task[None]] = set()

    def finished(task: asyncio.Task[None]) -> None:
        background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    def ready() -> None:
        say(f"[bold green]Auction platform ready[/] at http://{host}:{port}")
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
    try:
        with running_in(settings.data_dir):
            serve_app(
                app,
                host=host,
                port=port,
                graceful_seconds=10,
                ws_ping_interval=settings.ws_ping_interval_seconds,
            )
    except DataDirBusy:
        fail(f"a restore into {settings.data_dir} is under way: start again once it is done")
