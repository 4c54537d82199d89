"""The in-process raw exchange: what the app sees and answers, as through httpx's ASGITransport."""

from __future__ import annotations

from typing import Any

import httpx

from auction_platform.core.http import service_client
from auction_platform.core.transport import InProcessTransport


class Recorder:
    """Plain ASGI: records the scope and body it was given; answers by path."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append({**scope, "body": body})
        if scope["path"].endswith("/fail"):
            raise RuntimeError("the app failed before answering")
        await send(
            {"type": "http.response.start", "status": 201, "headers": [(b"x-answer", b"yes")]}
        )
        await send({"type": "http.response.body", "body": b"first ", "more_body": True})
        await send({"type": "http.response.body", "body": b"second"})


_COMPARED = ("method", "path", "raw_path", "query_string", "scheme", "server", "body")


async def test_the_raw_exchange_gives_the_app_what_httpx_would() -> None:
    app = Recorder()
    client = service_client(base_url="http://bidding.internal", transport=InProcessTransport(app))
    reference = httpx.AsyncClient(
        base_url="http://bidding.internal",
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
    )
    target = "/api/v1/auctions/a%20b/bids?x=1&y=%C3%A9"
    headers = [("content-type", "application/json"), ("X-Request-Id", "r-1")]
    answer = await client.exchange("POST", target, headers, b'{"max_amount_cents": 100}')
    await reference.post(target, headers=headers, content=b'{"max_amount_cents": 100}')
    ours, theirs = app.seen
    assert {k: ours[k] for k in _COMPARED} == {k: theirs[k] for k in _COMPARED}
    assert ours["path"] == "/api/v1/auctions/a b/bids"
    ours_headers, their_headers = dict(ours["headers"]), dict(theirs["headers"])
    for name in (b"host", b"content-length", b"content-type", b"x-request-id"):
        assert ours_headers[name] == their_headers[name], name
    assert (answer.status, answer.body) == (201, b"first second")
    assert (b"x-answer", b"yes") in answer.headers


async def test_an_app_that_fails_before_answering_is_a_500() -> None:
    client = service_client(
        base_url="http://bidding.internal", transport=InProcessTransport(Recorder())
    )
    answer = await client.exchange("GET", "/fail", [], b"")
    assert (answer.status, answer.body) == (500, b"")


async def test_a_head_answer_has_no_body_and_a_get_no_length_of_its_own() -> None:
    app = Recorder()
    client = service_client(base_url="http://bidding.internal", transport=InProcessTransport(app))
    assert (await client.exchange("HEAD", "/x", [], b"")).body == b""
    assert (await client.exchange("GET", "/x", [], b"")).body == b"first second"
    assert all(b"content-length" not in dict(seen["headers"]) for seen in app.seen)
