"""The feed benchmark's crowd: many WebSocket watchers in one process, apart from the servers.

Run by ``benchmarks/feed.py`` as a child process::

    python benchmarks/_feed_watchers.py <ws base url> <auctions file> <watchers> <result file>

It opens the watchers (spread round-robin over the auctions in the file), prints
``ready`` once every one holds its first book, and when a line arrives on stdin closes
them and writes, per watcher, each version it received and when (``time.time()``: the
machine's clock, which the bidding service stamps its books with), with its close code
if the server closed it.

Each watcher is the ``websockets`` library's sans-I/O client protocol on a bare asyncio
transport: the library's handshake, framing, pongs and close, without a task and a
queue per connection, so a thousand watchers receiving tens of updates a second each do
not make this process the bottleneck the benchmark would measure. It offers
permessage-deflate, as browsers do.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import time
from array import array
from pathlib import Path
from typing import Any, cast

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

VERSION = re.compile(rb'"version":\s*(\d+)')
# Connects are paced like a crowd arriving over seconds, not in one burst: the
# gateway's handshakes, not its steady state, would be measured. (Watchers who arrive
# together share one read of the book from bidding; a read each when they trickle in.)
CONNECTING_AT_ONCE = 25


class Watcher(asyncio.Protocol):
    """One WebSocket: records each version received and when."""

    def __init__(self, url: str, first: asyncio.Future[None]) -> None:
        self.conn = ClientProtocol(parse_uri(url), extensions=[ClientPerMessageDeflateFactory()])
        self.first = first
        self.versions = array("q")
        self.times = array("d")
        self.close_code: int | None = None  # the server's, if it closed first
        self.closing = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is no subclass
        self.conn.send_request(self.conn.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.conn.receive_data(data)
        for event in self.conn.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    found = VERSION.search(event.data)
                    self.versions.append(int(found[1]) if found else -1)
                    self.times.append(now)
                    if not self.first.done():
                        self.first.set_result(None)
                elif event.opcode is Opcode.CLOSE and not self.closing:
                    self.close_code = self.conn.close_code
            elif isinstance(event, Response) and event.status_code != 101:
                self._failed(RuntimeError(f"handshake answered {event.status_code}"))
        self._flush()  # pongs, the closing handshake

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_code is None and not self.closing:
            self.close_code = self.conn.close_code or 1006
        self._failed(ConnectionError(f"closed before the first book ({self.close_code})"))

    def close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.conn.send_close(1000)
            self._flush()
            self.transport.close()

    def _flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            data = self.conn.data_to_send()
            if data:
                self.transport.write(b"".join(data))

    def _failed(self, exc: Exception) -> None:
        if not self.first.done():
            self.first.set_exception(exc)

    def record(self) -> dict[str, Any]:
        return {
            "versions": self.versions.tolist(),
            "times": self.times.tolist(),
            "close_code": self.close_code,
        }


def raise_fd_limit() -> int:
    """As many open files as the hard limit allows; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def open_watchers(base: str, auctions: list[str], count: int) -> list[Watcher]:
    """``count`` watchers over ``auctions``, each holding its first book."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
    host, port = base.removeprefix("ws://").split(":")

    async def one(n: int) -> Watcher:
        async with gate:
            url = f"{base}/ws/auctions/{auctions[n % len(auctions)]}"
            first: asyncio.Future[None] = loop.create_future()
            _, watcher = await loop.create_connection(lambda: Watcher(url, first), host, int(port))
            await asyncio.wait_for(first, timeout=60)
            return watcher

    return await asyncio.gather(*(one(n) for n in range(count)))


async def main(base: str, auctions: list[str], count: int, result_file: str) -> None:
    limit = raise_fd_limit()
    if limit < count + 100:
        raise SystemExit(f"open files limited to {limit}: too few for {count} watchers")
    started = time.monotonic()
    watchers = await open_watchers(base, auctions, count)
    print(f"ready {time.monotonic() - started:.1f}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    cpu = time.process_time()
    for watcher in watchers:
        watcher.close()
    await asyncio.sleep(0.5)
    records = [watcher.record() for watcher in watchers]
    result = json.dumps({"watchers": records, "cpu_seconds": cpu})
    await asyncio.to_thread(Path(result_file).write_text, result)


if __name__ == "__main__":
    import uvloop

    auctions = Path(sys.argv[2]).read_text().split()
    uvloop.run(main(sys.argv[1], auctions, int(sys.argv[3]), sys.argv[4]))
