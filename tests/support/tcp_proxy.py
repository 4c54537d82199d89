"""A TCP forwarder the tests can break on demand, to stage real network faults.

It stands between the platform and a real server (PostgreSQL, Redis, RabbitMQ, another
service): the platform is given the proxy's port, and the test chooses the fault.

- ``cut``: the server is gone. Open connections are dropped and nothing listens.
- ``refuse``: new connections are closed as soon as they are accepted; open ones carry on
  (a server at its connection limit, a firewall rule for new flows).
- ``delay``: every chunk is held for a while before it is passed on, both ways (a slow
  or distant network).
- ``restore``: forwarding again, at once, as before the fault.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    """Listens on 127.0.0.1:<port> and forwards to a real server while no fault is on."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.latency = 0.0
        self.refusing = False
        self._server: asyncio.Server | None = None
        self._streams: set[asyncio.StreamWriter] = set()
        # One more at every cut: a connection still reaching the server at a cut is dropped.
        self._cuts = 0

    @property
    def listening(self) -> bool:
        """True unless the proxy is cut."""
        return self._server is not None

    async def start(self) -> None:
        """Accept connections (on the same port after a ``cut``)."""
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and drop every open connection: the server is now unreachable."""
        server, self._server = self._server, None
        self._cuts += 1
        for writer in list(self._streams):
            writer.close()
        self._streams.clear()
        if server is not None:
            server.close()
            await server.wait_closed()

    def refuse(self) -> None:
        """Close each new connection at once; the open ones are left alone."""
        self.refusing = True

    def delay(self, seconds: float) -> None:
        """Hold every chunk ``seconds`` before passing it on, in both directions."""
        self.latency = seconds

    async def restore(self) -> None:
        """Forward again as before any fault: listening, accepting, without delay."""
        self.refusing = False
        self.latency = 0.0
        await self.start()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        cuts = self._cuts
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        if cuts != self._cuts:
            writer.close()
            up_writer.close()
            return
        self._streams.update({writer, up_writer})
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                if self.latency:
                    await asyncio.sleep(self.latency)
                writer.write(data)
                await writer.drain()
        writer.close()
        self._streams.discard(writer)
