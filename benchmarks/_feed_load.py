"""The feed benchmark's bidders: a steady rate of bids through the gateway, in their own process.

Run by ``benchmarks/feed.py`` as a child process::

    python benchmarks/_feed_load.py <gateway url> <auction> <tokens file> <bids/s> <seconds> <out>

Bid ``i`` leaves at ``i / rate`` seconds from the start (an open schedule: a slow answer
does not slow the next bid), from bidder ``i mod n`` with the amount ``100.00 + 120.00 i``,
so amounts rise and nearly every bid is accepted, each with an ``Idempotency-Key``. It
writes the answers' statuses, and for each 201 the book's ``version`` and ``server_time``
(when the bidding service answered the committed bid) and when the answer arrived.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

# Below the gateway's pool of Redis connections (100): each bid in flight holds one for
# its rate limits.
IN_FLIGHT = 96
# Above the largest increment (100.00 at 5,000.00 and over): each bid can beat the last.
STEP_CENTS = 12_000


async def main(gateway: str, auction: str, tokens: list[str], rate: float, seconds: float) -> dict:
    url = f"{gateway}/api/v1/auctions/{auction}/bids"
    statuses: Counter[str] = Counter()
    commits: list[tuple[int, float, float]] = []
    gate = asyncio.Semaphore(IN_FLIGHT)
    late = 0

    async def bid(http: aiohttp.ClientSession, i: int) -> None:
        headers = {
            "Authorization": f"Bearer {tokens[i % len(tokens)]}",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        sent = time.time()
        try:
            async with http.post(
                url, json={"max_amount_cents": 10_000 + STEP_CENTS * i}, headers=headers
            ) as r:
                body: dict[str, Any] = await r.json(content_type=None)
                arrived = time.time()
                statuses[str(r.status)] += 1
                if r.status == 201:
                    stamped = datetime.fromisoformat(body["server_time"]).timestamp()
                    commits.append((int(body["version"]), stamped, arrived, sent))
        except (aiohttp.ClientError, ValueError, TimeoutError) as exc:
            statuses[type(exc).__name__] += 1
        finally:
            gate.release()

    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tasks = []
        start = time.monotonic()
        total = int(rate * seconds)
        for i in range(total):
            wait = start + i / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.05:
                late += 1
            await gate.acquire()
            tasks.append(asyncio.create_task(bid(http, i)))
        sent_for = time.monotonic() - start
        await asyncio.gather(*tasks)
    return {
        "sent": total,
        "sent_for_seconds": sent_for,
        "late_sends": late,
        "statuses": dict(statuses),
        "commits": commits,
    }


if __name__ == "__main__":
    import uvloop

    gateway, auction, tokens, rate, seconds, out = sys.argv[1:7]
    bidders = Path(tokens).read_text().split()
    result = uvloop.run(main(gateway, auction, bidders, float(rate), float(seconds)))
    Path(out).write_text(json.dumps(result))
