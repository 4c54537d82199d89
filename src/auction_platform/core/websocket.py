"""The servers' WebSocket protocol: uvicorn's sans-I/O one, keeping less per connection.

A live feed holds its watchers' connections open for as long as they watch, so what
each connection keeps, times the crowd, is the gateway's memory (``benchmarks/feed.py``:
10,000 idle watchers). uvicorn's protocol keeps, for every connection's life:

- an ``asyncio.Queue`` of what the client sent, which is four double-ended queues
  (its items, its getters, its putters, and an Event's waiters), about 2.5 KB
  though a watcher sends nothing; ``_Inbox`` is the same three methods on a list
  and one waiting future;
- the handshake's request and response, every header parsed into websockets'
  structures (about 2.5 KB), needed only until the handshake is answered: the
  response is dropped then and the request's headers emptied (websockets' parser
  holds the request itself until the connection ends).

And it frames a text once for every connection it goes to: the live feed sends the
same book (the same ``str``) to every watcher of an auction, and each send built its
frame anew (encoded the text, made a ``Frame``, serialized it: about a third of the
gateway's CPU per delivered update). The last text sent and its frame are kept, and
a send of that text on a connection in plain state (open, no extension negotiated,
no fragmented message under way) writes the frame as it is.

It also offers the application a way to send a text without a task of its own
(``PUSH_EXTENSION`` in the scope's extensions, a plain function): the live feed's
hub, holding a new book for a thousand waiting watchers, writes it to each connection
at once instead of waking a thousand tasks to do it. The function sends only when
the message can go now: the connection open in plain state and its transport not
holding writes back. Otherwise it answers False, and the application sends the
usual way, which waits for the transport.

Everything else (pings, closing, flow control, every other message) is uvicorn's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

# The scope extension: ``push(text) -> bool``, the text sent now or not at all.
PUSH_EXTENSION = "auction_platform.websocket.push"


class _LastFrame:
    """The frame of the last text sent, for the next connection the same text goes to."""

    __slots__ = ("frame", "text")

    def __init__(self) -> None:
        self.text: str | None = None  # held, so its identity is not reused meanwhile
        self.frame = b""

    def of(self, text: str) -> bytes:
        if text is not self.text:
            self.frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
            self.text = text
        return self.frame


_LAST_FRAME = _LastFrame()


class _Inbox:
    """What the client sent, in order: ``put_nowait``, ``get`` and ``empty`` as a Queue's."""

    __slots__ = ("_items", "_waiting")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiting: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiting, self._waiting = self._waiting, None
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            self._waiting = asyncio.get_running_loop().create_future()
            try:
                await self._waiting
            finally:
                self._waiting = None
        return self._items.pop(0)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with a lighter inbox and no handshake kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = vars(self).get("scope")
        if scope is not None:  # the handshake is accepted
            scope["extensions"][PUSH_EXTENSION] = self.push

    def push(self, text: str) -> bool:
        """Send ``text`` now if it can go at once; False: not sent (send it with ``send``)."""
        if not self.writable.is_set() or not self._plain():
            return False
        self.transport.write(_LAST_FRAME.of(text))
        return True

    def _plain(self) -> bool:
        """Open, no extension negotiated, no fragmented message under way: frames go as built."""
        conn = self.conn
        return (
            not self.disconnected
            and not self.close_sent
            and conn.state is State.OPEN
            and not conn.extensions
            and not conn.expect_continuation_frame
        )

    async def send(self, message: Any) -> None:
        if message["type"] == "websocket.send" and isinstance(text := message.get("text"), str):
            if not self.writable.is_set():  # the client reads slower than it is sent to
                await self.writable.wait()
            if self.push(text):
                return
        await super().send(message)
        if message["type"] in ("websocket.accept", "websocket.close") and self.handshake_complete:
            # The handshake is answered: its request and response are not read again.
            request = self.__dict__.pop("request", None)
            if request is not None:
                request.headers.clear()
            self.__dict__.pop("response", None)
