"""The feed benchmark's crowd: many WebSocket watchers in one process, apart from the servers.

Run by ``benchmarks/feed.py`` as a child process::

    python benchmarks/_feed_watchers.py <ws base url> <auctions file> <watchers> <result file>

It opens the watchers (spread round-robin over the auctions in the file), prints
``ready`` once every one holds its first book, and when a line arrives on stdin closes
them and writes, per watcher, each version it received and when (``time.time()``: the
machine's clock, which the bidding service stamps its books with), with its close code
if the server closed it.

Each watcher is a bare asyncio protocol that speaks just the WebSocket client side
this benchmark needs (RFC 6455): the handshake (checked against its accept key),
unmasked frames from the server, pongs, and the closing handshake. A thousand watchers
receiving tens of updates a second each make tens of thousands of frames a second; with
a general client library's parser this process took a third of a core of the machine
the servers share, which the benchmark would then measure as the feed's own delay.
The handshake offers permessage-deflate, as browsers do; the platform's servers do not
take it up, and a server that did would fail the run (this client does not inflate).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import resource
import sys
import time
from array import array
from pathlib import Path
from typing import Any, cast

VERSION = re.compile(rb'"version":\s*(\d+)')
# Connects are paced like a crowd arriving over seconds, not in one burst: the
# gateway's handshakes, not its steady state, would be measured. (Watchers who arrive
# together share one read of the book from bidding; a read each when they trickle in.)
CONNECTING_AT_ONCE = 25


_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


class Watcher(asyncio.Protocol):
    """One WebSocket: records each version received and when."""

    def __init__(self, host: str, path: str, first: asyncio.Future[None]) -> None:
        self.key = base64.b64encode(os.urandom(16))
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {self.key.decode()}\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ).encode()
        self.first = first
        self.buffer = bytearray()
        self.open = False  # the handshake is answered
        self.versions = array("q")
        self.times = array("d")
        self.close_code: int | None = None  # the server's, if it closed first
        self.closing = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is no subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer
        buffer += data
        if not self.open and not self._handshake():
            return
        at, size = 0, len(buffer)
        while size - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            length, head = second & 0x7F, 2
            if length == 126:
                length, head = int.from_bytes(buffer[at + 2 : at + 4]), 4
            elif length == 127:
                length, head = int.from_bytes(buffer[at + 2 : at + 10]), 10
            end = at + head + length
            if size < at + head or end > size:
                break  # the rest of the frame is still on its way
            if second & 0x80 or not first & 0x80:  # masked or fragmented: not the feed's
                self.close_code = 1002
                self._failed(RuntimeError("a masked or fragmented frame from the server"))
                self.close()
                return
            opcode = first & 0x0F
            if opcode == _TEXT:
                found = VERSION.search(buffer, at + head, end)
                self.versions.append(int(found[1]) if found else -1)
                self.times.append(now)
                if not self.first.done():
                    self.first.set_result(None)
            elif opcode == _PING:
                self._send(_PONG, bytes(buffer[at + head : end]))
            elif opcode == _CLOSE and not self.closing:
                self.close_code = int.from_bytes(buffer[at + head : at + head + 2]) or 1005
                self.closing = True
                self._send(_CLOSE, bytes(buffer[at + head : at + head + 2]))
            at = end
        del buffer[:at]

    def _handshake(self) -> bool:
        """Take the server's answer off the buffer; True once it accepted."""
        ends = self.buffer.find(b"\r\n\r\n")
        if ends < 0:
            return False
        head = bytes(self.buffer[:ends]).decode("latin-1").lower()
        del self.buffer[: ends + 4]
        accept = (
            base64.b64encode(hashlib.sha1(self.key + _GUID, usedforsecurity=False).digest())
            .decode()
            .lower()
        )
        status = head.split(None, 2)[1] if head.count(" ") else "?"
        if status != "101":
            self._failed(RuntimeError(f"handshake answered {status}"))
        elif f"sec-websocket-accept: {accept}" not in head:
            self._failed(RuntimeError("handshake accepted with the wrong key"))
        elif "sec-websocket-extensions" in head:
            self._failed(RuntimeError("the server took up an extension this client lacks"))
        else:
            self.open = True
            return True
        if self.transport is not None:
            self.transport.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_code is None and not self.closing:
            self.close_code = 1006
        self._failed(ConnectionError(f"closed before the first book ({self.close_code})"))

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self._send(_CLOSE, (1000).to_bytes(2))
        if self.transport is not None:
            self.transport.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        """A control frame (short), masked as a client's must be."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[n % 4] for n, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

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
            path = f"/ws/auctions/{auctions[n % len(auctions)]}"
            first: asyncio.Future[None] = loop.create_future()
            _, watcher = await loop.create_connection(
                lambda: Watcher(f"{host}:{port}", path, first), host, int(port)
            )
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
