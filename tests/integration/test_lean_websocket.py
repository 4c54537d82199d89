"""The servers' WebSocket protocol: uvicorn's, keeping less per connection, same behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame
from websockets.http11 import Request
from websockets.uri import parse_uri

from auction_platform.core.websocket import PUSH_EXTENSION, LeanWebSocketProtocol
from support.http_server import serving
from support.waiting import PATIENCE, eventually


class Echo:
    """Plain ASGI: accepts, answers each text with its upper case, records what it saw."""

    def __init__(self) -> None:
        self.protocols: list[LeanWebSocketProtocol] = []
        self.disconnects: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        if scope["path"] == "/refuse":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.disconnects.append(message)
                return
            if message.get("text") == "bye":
                await send({"type": "websocket.close", "code": 4000, "reason": "asked"})
                return
            await send({"type": "websocket.send", "text": message["text"].upper()})


class Recorded(LeanWebSocketProtocol):
    """The protocol, each connection's instance kept where the test can look at it."""

    made: list[LeanWebSocketProtocol] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Recorded.made.append(self)


def _protocols() -> list[LeanWebSocketProtocol]:
    return Recorded.made


async def test_messages_go_both_ways_in_order_and_a_disconnect_reaches_the_app() -> None:
    app = Echo()
    async with serving(app, ws=Recorded) as url, connect(url.replace("http", "ws") + "/echo") as ws:
        for word in ("one", "two", "three"):
            await ws.send(word)
        answers = [await asyncio.wait_for(ws.recv(), timeout=PATIENCE) for _ in range(3)]
        assert answers == ["ONE", "TWO", "THREE"]
        (protocol,) = [p for p in _protocols() if not p.disconnected]
        # The handshake is answered: nothing of it is kept but an empty request.
        assert "response" not in vars(protocol) and "request" not in vars(protocol)
        await ws.close()

        async def told() -> bool:
            return bool(app.disconnects)

        await eventually(told)
    assert app.disconnects[0]["code"] == 1000


async def test_many_messages_sent_at_once_all_arrive_in_order() -> None:
    app = Echo()
    async with serving(app, ws=Recorded) as url, connect(url.replace("http", "ws") + "/echo") as ws:
        words = [f"w{i}" for i in range(500)]
        for word in words:
            await ws.send(word)
        answers = [await asyncio.wait_for(ws.recv(), timeout=PATIENCE) for _ in words]
        assert answers == [word.upper() for word in words]


async def test_the_app_closing_reaches_the_client_with_its_code() -> None:
    async with serving(Echo()) as url, connect(url.replace("http", "ws") + "/echo") as ws:
        await ws.send("bye")
        await ws.wait_closed()
        assert (ws.close_code, ws.close_reason) == (4000, "asked")


async def test_a_close_before_accepting_refuses_the_handshake() -> None:
    async with serving(Echo()) as url:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url.replace("http", "ws") + "/refuse"):
                pass
    assert refused.value.response.status_code == 403


class Broadcast:
    """Plain ASGI: every connection is sent the same texts (the same objects), in order."""

    def __init__(self, texts: list[str], watchers: int) -> None:
        self.texts = texts
        self.ready = asyncio.Barrier(watchers)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await self.ready.wait()
        for text in self.texts:
            await send({"type": "websocket.send", "text": text})
        while (await receive())["type"] != "websocket.disconnect":
            pass


async def test_one_text_sent_to_many_connections_reaches_each_whole() -> None:
    # A book with non-ASCII text, one long enough for a 16-bit length, one for 64 bits.
    texts = ['{"price": "€1,000", "v": 1}', "x" * 300, "€" * 70_000, '{"v": 2}']
    app = Broadcast(texts, watchers=3)
    async with serving(app, ws=Recorded) as url:
        sockets = [await connect(url.replace("http", "ws") + "/b", max_size=None) for _ in range(3)]
        try:
            for ws in sockets:
                got = [await asyncio.wait_for(ws.recv(), timeout=PATIENCE) for _ in texts]
                assert got == texts
        finally:
            for ws in sockets:
                await ws.close()


async def test_a_client_that_does_not_read_holds_the_sender_back_then_gets_everything() -> None:
    texts = [f"{n:06d}" + "x" * 65_536 for n in range(400)]  # 26 MB: more than any buffer
    app = Broadcast(texts, watchers=1)
    async with serving(app, ws=Recorded) as url, _not_reading(url) as read:

        async def held_back() -> bool:
            return any(not p.writable.is_set() for p in _protocols() if not p.disconnected)

        # The client reads nothing: the server's writes back up and its send waits.
        await eventually(held_back)
        await asyncio.sleep(0.2)
        # Held back, not buffered: at most a message over the transport's high water.
        (protocol,) = [p for p in _protocols() if not p.disconnected]
        assert protocol.transport.get_write_buffer_size() < 256 * 1024
        assert await read(len(texts)) == texts


class Pusher:
    """Plain ASGI: sends each text with the scope's push, or the usual way when it says no."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.pushed = 0
        self.sent = 0  # declined by push, so sent the usual way

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        push = scope["extensions"][PUSH_EXTENSION]
        assert not push("before the accept"), "a text went before the handshake was answered"
        await send({"type": "websocket.accept"})
        for text in self.texts:
            if push(text):
                self.pushed += 1
            else:
                self.sent += 1
                await send({"type": "websocket.send", "text": text})
            await asyncio.sleep(0)
        while (await receive())["type"] != "websocket.disconnect":
            pass


async def test_push_sends_a_text_at_once_and_declines_while_the_client_is_behind() -> None:
    texts = [f"{n:06d}" + "x" * 65_536 for n in range(400)]  # 26 MB: more than any buffer
    app = Pusher(texts)
    async with serving(app, ws=Recorded) as url, _not_reading(url) as read:

        async def declined() -> bool:
            return app.sent > 0

        # The client reads nothing: push sends until the transport holds writes back,
        # then declines, and the usual send waits for the client.
        await eventually(declined)
        assert app.pushed > 0
        (protocol,) = [p for p in _protocols() if not p.disconnected]
        assert protocol.transport.get_write_buffer_size() < 256 * 1024 + 70_000
        assert await read(len(texts)) == texts
        assert app.pushed + app.sent == len(texts)


@asynccontextmanager
async def _not_reading(url: str) -> AsyncIterator[Callable[[int], Awaitable[list[str]]]]:
    """A client that reads nothing until the test calls ``read(n)`` for its next n texts."""
    host, port = url.removeprefix("http://").split(":")
    client = ClientProtocol(parse_uri(f"ws://{host}:{port}/slow"), max_size=None)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"".join(_sent(client, client.connect())))

    async def read(count: int) -> list[str]:
        got: list[str] = []
        while len(got) < count:
            data = await asyncio.wait_for(reader.read(1 << 20), timeout=PATIENCE)
            assert data, "the server closed before every text arrived"
            client.receive_data(data)
            got += [e.data.decode() for e in client.events_received() if isinstance(e, Frame)]
        return got

    try:
        yield read
    finally:
        writer.close()


def _sent(client: ClientProtocol, request: Request) -> list[bytes]:
    client.send_request(request)
    return client.data_to_send()
