"""Tables and queries of the bidding service: one book row per auction, an append-only ledger."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.core.service import service_tables
from auction_platform.core.sql import insert_ignoring_duplicates, maybe_utc
from auction_platform.services.bidding.domain import BookStatus

TABLES = service_tables("bidding")

books = Table(
    "bidding_books",
    TABLES.metadata,
    Column("auction_id", String(64), primary_key=True),
    Column("seller_id", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("rules", JSON, nullable=False),
    Column("state", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("leader_id", String(64), nullable=True),
    Column("bid_count", Integer, nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, nullable=False),
    # Bumped by every committed change of the book; the live feed's order (``BookState``).
    Column("version", BigInteger, nullable=False),
    Column("result", JSON, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_bidding_books_due", "status", "ends_at"),
)

bids = Table(
    "bidding_bids",
    TABLES.metadata,
    Column("auction_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("bidder_id", String(64), nullable=False),
    Column("max_cents", BigInteger, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("leader_id", String(64), nullable=True),
    Column("retracted_at", DateTime(timezone=True), nullable=True),
    Index("ix_bidding_bids_bidder", "bidder_id"),
)

idempotency = Table(
    "bidding_idempotency",
    TABLES.metadata,
    Column("user_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_bidding_idempotency_created", "created_at"),
)


async def book_row(conn: AsyncConnection, auction_id: str, *, lock: bool) -> Any:
    """The book row of an auction (locked for the batch when ``lock``), or None."""
    query = select(books).where(books.c.auction_id == auction_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def book_rows(conn: AsyncConnection, auction_ids: list[str]) -> list[Any]:
    """The book rows of these auctions (missing ones absent), unlocked."""
    query = select(books).where(books.c.auction_id.in_(auction_ids))
    return list((await conn.execute(query)).all())


# The statements of every batch, built once: building a Core statement costs more
# CPU than executing it on a warm connection, and a batch runs four of them.
_LOCKED_BOOKS = (
    select(books)
    .where(books.c.auction_id.in_(bindparam("auction_ids", expanding=True)))
    .order_by(books.c.auction_id)
    .with_for_update()
)
# No VALUES: executed with many parameter sets, the SET clause is taken from their
# keys (the columns ``BookState.dump`` gives), so the columns are named in one place.
_SAVE_BOOK = update(books).where(books.c.auction_id == bindparam("book_id"))
_APPEND_BIDS = bids.insert()


async def locked_book_rows(conn: AsyncConnection, auction_ids: list[str]) -> dict[str, Any]:
    """The book rows of these auctions by id (missing ones absent), locked for the batch.

    They are locked in auction id order: two batches over overlapping books (two
    replicas) then queue on the first book they share, never in a circle.
    """
    result = await conn.execute(_LOCKED_BOOKS, {"auction_ids": auction_ids})
    return {row.auction_id: row for row in result.all()}


async def add_book(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Create a book unless one exists; True when this call created it."""
    return await insert_ignoring_duplicates(conn, books, values)


async def replace_rules(
    conn: AsyncConnection, auction_id: str, *, rules: dict[str, Any], title: str, currency: str
) -> None:
    """A book's new rules (the lot was edited before its first bid); the row is locked."""
    await conn.execute(
        update(books)
        .where(books.c.auction_id == auction_id)
        .values(rules=rules, title=title, currency=currency)
    )


async def save_books(conn: AsyncConnection, states: list[tuple[str, dict[str, Any]]]) -> None:
    """Write books' new states (one statement, executed for each book).

    Each state carries every column a book changes (``BookState.dump``).
    """
    if not states:
        return
    await conn.execute(
        _SAVE_BOOK, [{"book_id": auction_id, **values} for auction_id, values in states]
    )


async def append_bids(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Append accepted bids to the ledger."""
    if rows:
        await conn.execute(_APPEND_BIDS, rows)


async def ledger(conn: AsyncConnection, auction_id: str) -> list[Any]:
    """Every ledger row of an auction, in order."""
    query = select(bids).where(bids.c.auction_id == auction_id).order_by(bids.c.seq)
    return list((await conn.execute(query)).all())


async def bidder_ids(conn: AsyncConnection, auction_id: str) -> list[str]:
    """Everyone with a ledger row on an auction (a retracted bid too), each once, first first."""
    query = (
        select(bids.c.bidder_id)
        .where(bids.c.auction_id == auction_id)
        .group_by(bids.c.bidder_id)
        .order_by(func.min(bids.c.seq))
    )
    return list((await conn.execute(query)).scalars())


async def bids_of(conn: AsyncConnection, bidder_id: str, *, limit: int) -> list[Any]:
    """The auctions a bidder bid on, latest first: their highest live maximum and the book."""
    mine = (
        select(
            bids.c.auction_id,
            func.max(bids.c.max_cents).label("max_cents"),
            func.max(bids.c.placed_at).label("last_bid_at"),
            func.count().label("bids"),
        )
        .where(bids.c.bidder_id == bidder_id, bids.c.retracted_at.is_(None))
        .group_by(bids.c.auction_id)
        .subquery()
    )
    query = (
        select(
            mine,
            books.c.title,
            books.c.currency,
            books.c.status,
            books.c.price_cents,
            books.c.leader_id,
            books.c.bid_count,
            books.c.ends_at,
            books.c.rules,
        )
        .join(books, books.c.auction_id == mine.c.auction_id)
        .order_by(mine.c.last_bid_at.desc(), mine.c.auction_id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def mark_retracted(conn: AsyncConnection, auction_id: str, seq: int, *, at: datetime) -> None:
    """Mark one ledger row retracted (rows are never deleted)."""
    await conn.execute(
        update(bids)
        .where(bids.c.auction_id == auction_id, bids.c.seq == seq)
        .values(retracted_at=at)
    )


# The closer's two statements, built once: with thousands of ends a minute it runs
# them for every few books, and building them cost more CPU than running them.
_DUE_BOOKS = (
    select(books)
    .where(books.c.status == BookStatus.OPEN.value, books.c.ends_at <= bindparam("now"))
    .order_by(books.c.ends_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_NEXT_END = select(func.min(books.c.ends_at)).where(books.c.status == BookStatus.OPEN.value)


async def due_books(conn: AsyncConnection, *, now: datetime, limit: int) -> list[Any]:
    """Open books past their effective end, claimed so no other closer takes them."""
    return list((await conn.execute(_DUE_BOOKS, {"now": now, "limit": limit})).all())


async def next_end(conn: AsyncConnection) -> datetime | None:
    """The earliest effective end of an open book (the closer's next due moment)."""
    return maybe_utc(await conn.scalar(_NEXT_END))


async def count_overdue(conn: AsyncConnection, *, before: datetime) -> int:
    """Open books whose effective end is earlier than ``before``."""
    query = (
        select(func.count())
        .select_from(books)
        .where(books.c.status == BookStatus.OPEN.value, books.c.ends_at < before)
    )
    return int((await conn.execute(query)).scalar_one())


# A batch's keys are claimed in one statement, and its answers recorded in one, whatever
# the batch's size: the rows travel as arrays (PostgreSQL) or one JSON array (SQLite),
# so each statement's text is constant and prepared once per connection. A multi-row
# VALUES would be a new statement for every batch size, and cost more to build than
# to run.
_CLAIM_KEYS = {
    "postgresql": text(
        """
        INSERT INTO bidding_idempotency
            (user_id, "key", request_hash, status_code, response, created_at)
        SELECT c.user_id, c.key, c.request_hash, 0, '{}', CAST(:now AS TIMESTAMPTZ)
        FROM unnest(CAST(:user_ids AS TEXT[]), CAST(:keys AS TEXT[]),
                    CAST(:hashes AS TEXT[])) AS c(user_id, key, request_hash)
        ON CONFLICT DO NOTHING
        RETURNING user_id, "key"
        """
    ),
    "sqlite": text(
        """
        INSERT INTO bidding_idempotency
            (user_id, "key", request_hash, status_code, response, created_at)
        SELECT json_extract(c.value, '$[0]'), json_extract(c.value, '$[1]'),
               json_extract(c.value, '$[2]'), 0, '{}', :now
        FROM json_each(:claims) AS c WHERE true
        ON CONFLICT DO NOTHING
        RETURNING user_id, "key"
        """
    ),
}
# SQLite's (PostgreSQL records the answers in ``write_batch``).
_STORE_ANSWERS = text(
    """
    UPDATE bidding_idempotency
    SET status_code = json_extract(a.value, '$[2]'), response = json_extract(a.value, '$[3]')
    FROM json_each(:answers) AS a
    WHERE bidding_idempotency.user_id = json_extract(a.value, '$[0]')
      AND bidding_idempotency."key" = json_extract(a.value, '$[1]')
    """
)


# A batch's writes on PostgreSQL, in one statement (one round trip, where three
# statements cost about 0.3 ms of the process's CPU each through SQLAlchemy): the
# answers of its Idempotency-Keys, its ledger rows and its books' new states, each as
# arrays. The parts touch different tables, so they cannot see each other's rows.
_WRITE_BATCH = text(
    """
    WITH answers AS (
        UPDATE bidding_idempotency AS i SET status_code = a.status, response = a.response
        FROM unnest(CAST(:answer_users AS TEXT[]), CAST(:answer_keys AS TEXT[]),
                    CAST(:answer_statuses AS INTEGER[]), CAST(:answer_responses AS TEXT[]))
             AS a(user_id, key, status, response)
        WHERE i.user_id = a.user_id AND i."key" = a.key
    ), ledger AS (
        INSERT INTO bidding_bids
            (auction_id, seq, bidder_id, max_cents, placed_at, price_cents, leader_id)
        SELECT * FROM unnest(
            CAST(:bid_auctions AS TEXT[]), CAST(:bid_seqs AS BIGINT[]),
            CAST(:bid_bidders AS TEXT[]), CAST(:bid_maxima AS BIGINT[]),
            CAST(:bid_times AS TIMESTAMPTZ[]), CAST(:bid_prices AS BIGINT[]),
            CAST(:bid_leaders AS TEXT[]))
    )
    UPDATE bidding_books AS b SET
        state = CAST(s.state AS JSON), status = s.status, price_cents = s.price_cents,
        leader_id = s.leader_id, bid_count = s.bid_count, ends_at = s.ends_at, seq = s.seq,
        version = s.version, result = CAST(s.result AS JSON), updated_at = s.updated_at
    FROM unnest(
        CAST(:book_ids AS TEXT[]), CAST(:book_states AS TEXT[]), CAST(:book_statuses AS TEXT[]),
        CAST(:book_prices AS BIGINT[]), CAST(:book_leaders AS TEXT[]),
        CAST(:book_counts AS INTEGER[]), CAST(:book_ends AS TIMESTAMPTZ[]),
        CAST(:book_seqs AS BIGINT[]), CAST(:book_versions AS BIGINT[]),
        CAST(:book_results AS TEXT[]), CAST(:book_times AS TIMESTAMPTZ[]))
        AS s(auction_id, state, status, price_cents, leader_id, bid_count, ends_at, seq,
             version, result, updated_at)
    WHERE b.auction_id = s.auction_id
    """
)
# Each array of the statement and the column (of a ledger row, of ``BookState.dump``)
# it carries.
_BID_ARRAYS = {
    "bid_auctions": "auction_id",
    "bid_seqs": "seq",
    "bid_bidders": "bidder_id",
    "bid_maxima": "max_cents",
    "bid_times": "placed_at",
    "bid_prices": "price_cents",
    "bid_leaders": "leader_id",
}
_BOOK_ARRAYS = {
    "book_statuses": "status",
    "book_prices": "price_cents",
    "book_leaders": "leader_id",
    "book_counts": "bid_count",
    "book_ends": "ends_at",
    "book_seqs": "seq",
    "book_versions": "version",
    "book_times": "updated_at",
}
_ANSWER_ARRAYS = ("answer_users", "answer_keys", "answer_statuses", "answer_responses")


async def write_batch(
    conn: AsyncConnection,
    *,
    answers: list[tuple[str, str, int, str]],
    bids: list[dict[str, Any]],
    states: list[tuple[str, dict[str, Any]]],
) -> None:
    """What a batch writes before it commits: its keys' answers, its ledger rows, its books.

    One statement on PostgreSQL; on SQLite (in process: no round trips) the three.
    """
    if conn.dialect.name != "postgresql":
        await store_answers(conn, answers)
        await append_bids(conn, bids)
        await save_books(conn, states)
        return
    if not (answers or bids or states):
        return
    values: dict[str, Any] = {
        name: [answer[i] for answer in answers] for i, name in enumerate(_ANSWER_ARRAYS)
    }
    values |= {name: [bid[column] for bid in bids] for name, column in _BID_ARRAYS.items()}
    books_ = [book for _, book in states]
    values |= {name: [book[column] for book in books_] for name, column in _BOOK_ARRAYS.items()}
    values["book_ids"] = [auction_id for auction_id, _ in states]
    values["book_states"] = [json.dumps(book["state"]) for book in books_]
    values["book_results"] = [
        None if book["result"] is None else json.dumps(book["result"]) for book in books_
    ]
    await conn.execute(_WRITE_BATCH, values)


async def claim_idempotency_keys(
    conn: AsyncConnection, claims: list[tuple[str, str, str]], *, now: datetime
) -> set[tuple[str, str]]:
    """Reserve keys ``(user_id, key, request_hash)`` in one statement; the pairs reserved.

    A key used before is left as it is (and not returned).
    """
    dialect = conn.dialect.name
    statement = _CLAIM_KEYS[dialect].bindparams(
        bindparam("now", type_=idempotency.c.created_at.type)
    )
    if dialect == "postgresql":
        user_ids, keys, hashes = (list(column) for column in zip(*claims, strict=True))
        values: dict[str, Any] = {"user_ids": user_ids, "keys": keys, "hashes": hashes}
    else:
        values = {"claims": json.dumps(claims)}
    result = await conn.execute(statement, {**values, "now": now})
    return {(row[0], row[1]) for row in result}


async def idempotent_answers(conn: AsyncConnection, keys: list[tuple[str, str]]) -> dict[Any, Any]:
    """The stored rows of these ``(user_id, key)`` pairs, by pair."""
    query = select(idempotency).where(tuple_(idempotency.c.user_id, idempotency.c.key).in_(keys))
    return {(row.user_id, row.key): row for row in await conn.execute(query)}


async def store_answers(conn: AsyncConnection, answers: list[tuple[str, str, int, str]]) -> None:
    """Record the answers given for keys ``(user_id, key, status, response)`` (SQLite)."""
    if answers:
        await conn.execute(_STORE_ANSWERS, {"answers": json.dumps(answers)})


async def purge_idempotency(conn: AsyncConnection, *, before: datetime) -> int:
    """Delete idempotency keys created before ``before``."""
    result = await conn.execute(delete(idempotency).where(idempotency.c.created_at < before))
    return int(result.rowcount or 0)


async def bidders_of_books(conn: AsyncConnection, auction_ids: list[str]) -> dict[str, list[str]]:
    """``bidder_ids`` of several auctions in one query (the closer's batch); none: absent."""
    if not auction_ids:
        return {}
    first_seq = func.min(bids.c.seq)
    query = (
        select(bids.c.auction_id, bids.c.bidder_id)
        .where(bids.c.auction_id.in_(auction_ids))
        .group_by(bids.c.auction_id, bids.c.bidder_id)
        .order_by(bids.c.auction_id, first_seq)
    )
    found: dict[str, list[str]] = {}
    for auction_id, bidder_id in (await conn.execute(query)).all():
        found.setdefault(auction_id, []).append(bidder_id)
    return found


async def open_books_led_by(conn: AsyncConnection, user_id: str) -> list[str]:
    """The auctions whose open book this account leads."""
    query = select(books.c.auction_id).where(
        books.c.status == BookStatus.OPEN.value, books.c.leader_id == user_id
    )
    return [row.auction_id for row in await conn.execute(query)]
