"""The fault proxy breaks a connection the way each fault says, and mends it on ``restore``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from support.tcp_proxy import TcpProxy

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_OPEN: list[asyncio.StreamWriter] = []


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _OPEN.append(writer)
    with contextlib.suppress(OSError):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    """A proxy in front of an echo server; every connection is closed afterwards."""
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    proxy = TcpProxy("127.0.0.1", server.sockets[0].getsockname()[1])
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.cut()
        for writer in _OPEN:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        _OPEN.clear()
        server.close()
        await server.wait_closed()


async def _connect(proxy: TcpProxy) -> Stream:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    _OPEN.append(writer)
    return reader, writer


async def _round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"ping")
    await writer.drain()
    return await asyncio.wait_for(reader.read(4), 10)


async def test_a_cut_drops_open_connections_and_refuses_new_ones_until_restored(
    proxy: TcpProxy,
) -> None:
    reader, writer = await _connect(proxy)
    assert await _round_trip(reader, writer) == b"ping"

    await proxy.cut()
    assert await asyncio.wait_for(reader.read(4), 10) == b""
    with pytest.raises(ConnectionRefusedError):
        await _connect(proxy)

    await proxy.restore()
    assert await _round_trip(*await _connect(proxy)) == b"ping"


async def test_refusing_closes_new_connections_and_keeps_open_ones(proxy: TcpProxy) -> None:
    kept = await _connect(proxy)
    assert await _round_trip(*kept) == b"ping"

    proxy.refuse()
    refused, _ = await _connect(proxy)
    assert await asyncio.wait_for(refused.read(4), 10) == b""
    assert await _round_trip(*kept) == b"ping"

    await proxy.restore()
    assert await _round_trip(*await _connect(proxy)) == b"ping"


async def test_a_delay_holds_each_chunk_both_ways(proxy: TcpProxy) -> None:
    proxy.delay(0.2)
    began = time.monotonic()
    assert await _round_trip(*await _connect(proxy)) == b"ping"
    # There and back: held at least twice (an upper bound would measure the machine).
    assert time.monotonic() - began >= 0.4

    await proxy.restore()
    assert proxy.latency == 0
