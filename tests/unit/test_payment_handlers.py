"""The payment use cases, without the platform: SQLite on a file and the sandbox provider.

The sandbox sends its outcomes through the webhook use case, as in the service,
so paying with a test card pays the order before ``pay`` returns.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from auction_platform.contracts.events import Envelope
from auction_platform.core.db import Database
from auction_platform.core.failures import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PaymentRefused,
    Unavailable,
)
from auction_platform.core.migrate import migrate
from auction_platform.core.uow import UnitOfWork
from auction_platform.services.payment import (
    api,
    consumers,
    handlers,
    scheduler,
    store,
    views,
    webhooks,
)
from auction_platform.services.payment.commands import (
    AcceptOffer,
    Idempotency,
    ListOrders,
    Party,
    Pay,
    ReceiveWebhook,
    RefundOrder,
)
from auction_platform.services.payment.domain import Caller, Order, SaleFormat, Status
from auction_platform.services.payment.handlers import Payments, ProviderFailed
from auction_platform.services.payment.idempotency import IN_FLIGHT_SECONDS, RecordedAnswer
from auction_platform.services.payment.providers import Intent, ProviderError, Refund
from auction_platform.services.payment.sandbox import DECLINED, SUCCEEDS, SandboxProvider
from auction_platform.settings import Settings

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BOB, EVE, SAM = Caller("bob"), Caller("eve"), Caller("sam")
ROOT = Caller("root", is_admin=True)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def payments(tmp_path: Path, clock: Clock) -> AsyncIterator[Payments]:
    """The payment context on a fresh SQLite file, paying through the sandbox."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/payment.sqlite3", pool_size=2)
    await migrate(db, "payment")
    settings = Settings(_env_file=None, data_dir=tmp_path)

    async def deliver(payload: bytes, signature: str) -> object:
        return await webhooks.receive(ReceiveWebhook(payload, signature), ctx=ctx)

    secret = settings.sandbox_webhook_secret.get_secret_value()
    ctx = Payments(
        uow=UnitOfWork(db, outbox=store.TABLES.outbox, producer="payment"),
        settings=settings,
        clock=clock,
        provider=SandboxProvider(secret=secret, deliver=deliver),
    )
    yield ctx
    await db.dispose()


async def refused(kind: type[DomainError], code: str, call: Awaitable[Any]) -> DomainError:
    """The error ``call`` raised, checked for its kind and code."""
    with pytest.raises(kind) as caught:
        await call
    assert caught.value.code == code
    return caught.value


async def events(ctx: Payments) -> list[str]:
    outbox = store.TABLES.outbox
    async with ctx.uow.db.read() as conn:
        rows = await conn.execute(select(outbox.c.event_type).order_by(outbox.c.seq))
        return [row.event_type for row in rows]


def auction_closed(
    *,
    winner: str | None = "bob",
    runner_up: str | None = None,
    auction_id: str | None = None,
    **more: Any,
) -> Envelope:
    """What the bid book publishes when the hammer falls on Sam's lot."""
    return Envelope(
        type="AuctionClosed",
        producer="bidding",
        data={
            "auction_id": auction_id or uuid.uuid4().hex,
            "seller_id": "sam",
            "title": "A Leica M3",
            "winner_id": winner,
            "price_cents": 10_000,
            "currency": "EUR",
            "sold": winner is not None,
            "runner_up_id": runner_up,
            "runner_up_max_cents": 9_000 if runner_up else None,
            **more,
        },
    )


async def sold(ctx: Payments, event: Envelope) -> list[Order]:
    """Deliver ``event`` to the consumer; the auction's orders afterwards."""
    [consumer] = [c for c in consumers.consumers(ctx) if c.name == "auction-closed"]
    async with ctx.uow() as tx:
        await consumer.handle(tx, event)
    async with ctx.uow.db.read() as conn:
        return await store.orders_of_auction(conn, str(event.data["auction_id"]))


async def an_order(ctx: Payments, **closed: Any) -> Order:
    [order] = await sold(ctx, auction_closed(**closed))
    return order


async def test_a_sold_auction_makes_one_order_with_its_fees(payments: Payments) -> None:
    event = auction_closed()
    [order] = await sold(payments, event)
    assert (order.buyer_id, order.seller_id, order.status) == (
        "bob",
        "sam",
        Status.AWAITING_PAYMENT,
    )
    assert (order.total_cents, order.payout_cents) == (10_500, 9_000)
    assert order.due_at == START + timedelta(days=4)
    copy = Envelope(type=event.type, producer=event.producer, data=event.data)
    assert await sold(payments, copy) == [order]
    assert await sold(payments, auction_closed(winner=None)) == []
    assert await events(payments) == ["OrderCreated"]


async def test_paying_with_a_test_card_pays_the_order(payments: Payments) -> None:
    order = await an_order(payments)
    started = await handlers.charge(Pay(order.id, BOB, card=SUCCEEDS), ctx=payments)
    assert started.intent.status == "succeeded"
    assert started.order.status is Status.PAID
    assert started.order.paid_cents == 10_500
    assert await events(payments) == ["OrderCreated", "OrderPaid"]
    await refused(Conflict, "order_paid", handlers.charge(Pay(order.id, BOB), ctx=payments))


async def order_now(ctx: Payments, order: Order) -> Order:
    return await handlers.get_order(order.id, caller=BOB, ctx=ctx)


async def test_a_declined_card_is_refused_and_leaves_the_order_to_pay_again(
    payments: Payments,
) -> None:
    order = await an_order(payments)
    declined = await refused(
        PaymentRefused,
        "card_declined",
        handlers.charge(Pay(order.id, BOB, card=DECLINED), ctx=payments),
    )
    assert declined.message == "Your card was declined."
    after = await order_now(payments, order)
    assert (after.status, after.attempts, after.paid_at) == (Status.AWAITING_PAYMENT, 1, None)
    assert after.last_failure == "Your card was declined."
    await refused(
        PaymentRefused,
        "insufficient_funds",
        handlers.charge(Pay(order.id, BOB, card="4000 0000 0000 9995"), ctx=payments),
    )
    assert (await order_now(payments, order)).attempts == 2
    # A later success pays, counts as an attempt and clears the failure.
    paid = (await handlers.charge(Pay(order.id, BOB, card=SUCCEEDS), ctx=payments)).order
    assert (paid.status, paid.attempts, paid.last_failure) == (Status.PAID, 3, None)
    assert await events(payments) == [
        "OrderCreated",
        "PaymentFailed",
        "PaymentFailed",
        "OrderPaid",
    ]


@pytest.mark.parametrize(
    ("card", "code", "message"),
    [
        ("4000000000000002", "card_declined", "Your card was declined."),
        ("4000000000009995", "insufficient_funds", "Your card has insufficient funds."),
        ("4000000000009987", "card_declined", "Your card was declined."),  # lost
        ("4000000000009979", "card_declined", "Your card was declined."),  # stolen
        ("4000000000000069", "expired_card", "Your card has expired."),
        ("4000000000000127", "incorrect_cvc", "Your card's security code is incorrect."),
        ("4000000000000119", "processing_error", "An error occurred while processing"),
        ("4000002760003184", "authentication_required", "This transaction requires auth"),
        ("4000000000003220", "authentication_required", "This transaction requires auth"),
        ("4000002500003155", "authentication_required", "This transaction requires auth"),
        ("4242424242424241", "incorrect_number", "Your card number is incorrect."),
    ],
)
async def test_each_decline_card_is_refused_with_its_code_and_counted(
    payments: Payments, card: str, code: str, message: str
) -> None:
    order = await an_order(payments)
    declined = await refused(
        PaymentRefused, code, handlers.charge(Pay(order.id, BOB, card=card), ctx=payments)
    )
    assert message in declined.message
    after = await order_now(payments, order)
    assert (after.status, after.attempts) == (Status.AWAITING_PAYMENT, 1)
    assert after.last_failure == declined.message
    assert api.ERRORS.status_of(declined) == 402


@pytest.mark.parametrize("card", ["5555 5555 5555 4444", "378282246310005", "6011111111111117"])
async def test_stripes_other_brand_cards_succeed(payments: Payments, card: str) -> None:
    order = await an_order(payments)
    paid = await handlers.charge(Pay(order.id, BOB, card=card), ctx=payments)
    assert (paid.order.status, paid.order.attempts) == (Status.PAID, 1)


async def test_only_the_buyer_pays_and_strangers_see_no_order(payments: Payments) -> None:
    order = await an_order(payments)
    await refused(NotFound, "order_not_found", handlers.charge(Pay(order.id, EVE), ctx=payments))
    await refused(NotFound, "order_not_found", handlers.charge(Pay("nope", BOB), ctx=payments))
    await refused(Forbidden, "forbidden", handlers.charge(Pay(order.id, SAM), ctx=payments))
    await refused(
        NotFound, "order_not_found", handlers.get_order(order.id, caller=EVE, ctx=payments)
    )
    assert (await handlers.get_order(order.id, caller=ROOT, ctx=payments)).id == order.id


async def test_an_order_past_due_cannot_be_paid(payments: Payments, clock: Clock) -> None:
    order = await an_order(payments)
    clock.now = order.due_at
    await refused(Conflict, "order_expired", handlers.charge(Pay(order.id, BOB), ctx=payments))


async def test_a_card_that_is_not_a_test_card_is_invalid(payments: Payments) -> None:
    order = await an_order(payments)
    await refused(
        Invalid,
        "unknown_test_card",
        handlers.charge(Pay(order.id, BOB, card="4111 1111 1111 1111"), ctx=payments),
    )
    # Nothing was tried: no attempt is counted.
    assert (await order_now(payments, order)).attempts == 0


class Unreachable:
    """A provider that takes no cards and fails as it is told to."""

    name = "stripe"
    accepts_cards = False

    def __init__(self, error: ProviderError) -> None:
        self.error = error

    async def create_intent(self, order: Order) -> Intent:
        raise self.error

    async def retrieve_intent(self, intent_id: str, order: Order) -> Intent:
        raise self.error

    async def confirm(self, intent: Intent, order: Order, card: str) -> Intent:
        raise self.error

    async def refund(self, order: Order) -> Refund:
        raise self.error

    def health(self) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        pass


async def test_a_provider_that_is_away_or_refuses_says_so(payments: Payments) -> None:
    order = await an_order(payments)
    payments.provider = Unreachable(
        ProviderError("payment_provider_unavailable", "away", unavailable=True)
    )
    away = await refused(
        Unavailable,
        "payment_provider_unavailable",
        handlers.charge(Pay(order.id, BOB), ctx=payments),
    )
    assert away.retry_after == 5
    payments.provider = Unreachable(ProviderError("payment_provider_error", "no"))
    await refused(
        ProviderFailed, "payment_provider_error", handlers.charge(Pay(order.id, BOB), ctx=payments)
    )
    await refused(
        Invalid,
        "card_not_accepted",
        handlers.charge(Pay(order.id, BOB, card=SUCCEEDS), ctx=payments),
    )


async def test_a_refund_needs_a_payment_and_happens_once(payments: Payments) -> None:
    order = await an_order(payments)
    await refused(Conflict, "order_not_paid", handlers.refund(RefundOrder(order.id), ctx=payments))
    await refused(NotFound, "order_not_found", handlers.refund(RefundOrder("nope"), ctx=payments))
    await handlers.charge(Pay(order.id, BOB, card=SUCCEEDS), ctx=payments)
    done = await handlers.refund(RefundOrder(order.id), ctx=payments)
    assert (done.status, done.refunded_cents) == (Status.REFUNDED, 10_500)
    await refused(Conflict, "order_refunded", handlers.refund(RefundOrder(order.id), ctx=payments))
    assert (await events(payments)).count("OrderRefunded") == 1


async def test_orders_are_listed_a_page_at_a_time(payments: Payments, clock: Clock) -> None:
    made = []
    for _ in range(3):
        made.append(await an_order(payments))
        clock.now += timedelta(minutes=1)
    first = await handlers.list_orders(ListOrders(BOB, limit=2), ctx=payments)
    assert [o.id for o in first.items] == [made[2].id, made[1].id]
    rest = await handlers.list_orders(ListOrders(BOB, cursor=first.next_cursor), ctx=payments)
    assert ([o.id for o in rest.items], rest.next_cursor) == ([made[0].id], None)
    as_seller = await handlers.list_orders(ListOrders(SAM, Party.SELLER), ctx=payments)
    assert len(as_seller.items) == 3
    assert (await handlers.list_orders(ListOrders(SAM), ctx=payments)).items == []
    everyone = ListOrders(ROOT, Party.ANY, status=Status.AWAITING_PAYMENT)
    assert len((await handlers.list_orders(everyone, ctx=payments)).items) == 3
    await refused(
        Forbidden, "forbidden", handlers.list_orders(ListOrders(BOB, Party.ANY), ctx=payments)
    )
    await refused(
        Invalid, "invalid_cursor", handlers.list_orders(ListOrders(BOB, cursor="%%"), ctx=payments)
    )


async def test_the_runner_up_takes_a_second_chance_once(payments: Payments, clock: Clock) -> None:
    order = await an_order(payments, runner_up="eve")
    clock.now = order.due_at
    assert await scheduler.expire_due_orders(payments, now=clock.now) == 1
    [offer] = await handlers.my_offers("eve", limit=10, ctx=payments)
    assert offer.price_cents == 9_000
    await refused(
        NotFound,
        "offer_not_found",
        handlers.accept_offer(AcceptOffer(offer.id, "bob"), ctx=payments),
    )
    accepted = await handlers.accept_offer(AcceptOffer(offer.id, "eve"), ctx=payments)
    assert accepted.created
    assert (accepted.order.buyer_id, accepted.order.hammer_cents) == ("eve", 9_000)
    again = await handlers.accept_offer(AcceptOffer(offer.id, "eve"), ctx=payments)
    assert (again.order.id, again.created) == (accepted.order.id, False)


async def test_every_format_settles_alike_and_its_orders_say_which_it_was(
    payments: Payments, clock: Clock
) -> None:
    # An event from before there were formats was an English auction.
    assert (await an_order(payments)).format is SaleFormat.ENGLISH
    for sale_format in SaleFormat:
        order = await an_order(payments, format=sale_format.value)
        assert (order.format, order.total_cents) == (sale_format, 10_500)
        assert views.order_data(order)["format"] == sale_format.value
    # The runner-up's second chance is sold the way the first order was.
    order = await an_order(payments, runner_up="eve", format="dutch")
    clock.now = order.due_at
    await scheduler.expire_due_orders(payments, now=clock.now)
    [offer] = await handlers.my_offers("eve", limit=10, ctx=payments)
    accepted = await handlers.accept_offer(AcceptOffer(offer.id, "eve"), ctx=payments)
    assert accepted.order.format is SaleFormat.DUTCH


async def test_a_lapsed_offer_cannot_be_taken(payments: Payments, clock: Clock) -> None:
    order = await an_order(payments, runner_up="eve")
    clock.now = order.due_at
    await scheduler.expire_due_orders(payments, now=clock.now)
    [offer] = await handlers.my_offers("eve", limit=10, ctx=payments)
    clock.now = offer.due_at
    await refused(
        Conflict, "offer_expired", handlers.accept_offer(AcceptOffer(offer.id, "eve"), ctx=payments)
    )


async def test_a_webhook_that_does_not_verify_changes_nothing(payments: Payments) -> None:
    await refused(
        Invalid,
        "invalid_signature",
        webhooks.receive(ReceiveWebhook(b'{"id": "evt_1"}', "t=1,v1=00"), ctx=payments),
    )
    await refused(
        Invalid, "invalid_signature", webhooks.receive(ReceiveWebhook(b"{}", None), ctx=payments)
    )
    assert await events(payments) == []


def test_the_error_table_keeps_each_refusals_status() -> None:
    cases = [
        (Invalid("invalid_signature", "x"), 400, None),
        (Invalid("malformed_event", "x"), 400, None),
        (Invalid("invalid_cursor", "x"), 422, None),
        (Invalid("unknown_test_card", "x"), 422, None),
        (Conflict("order_paid", "x"), 409, None),
        (Conflict("idempotency_key_reused", "x"), 422, None),
        (Conflict("request_in_flight", "x"), 409, None),
        (PaymentRefused("card_declined", "x"), 402, None),
        (ProviderFailed("payment_provider_error", "x"), 502, None),
        (
            Unavailable("payment_provider_unavailable", "x", retry_after=5),
            503,
            {"Retry-After": "5"},
        ),
    ]
    for error, status, headers in cases:
        assert (api.ERRORS.status_of(error), api.ERRORS.headers_of(error)) == (status, headers)


def render(outcome: handlers.PaymentStarted | DomainError) -> tuple[int, dict[str, Any]]:
    """A stand-in for the route's rendering: the status and a small body."""
    if isinstance(outcome, DomainError):
        return api.ERRORS.status_of(outcome), {"error": {"code": outcome.code}}
    return 200, {"status": outcome.order.status.value, "attempts": outcome.order.attempts}


def keyed(order: Order, card: str, key: str = "key-1", buyer: Caller = BOB) -> Pay:
    """A payment with an Idempotency-Key; the card stands for the request's fingerprint."""
    return Pay(order.id, buyer, card=card, idempotency=Idempotency(key, f"{order.id}:{card}"))


async def test_the_same_key_and_request_get_the_first_answer_without_a_second_charge(
    payments: Payments,
) -> None:
    order = await an_order(payments)
    first = await handlers.pay(keyed(order, DECLINED), ctx=payments, render=render)
    again = await handlers.pay(keyed(order, DECLINED), ctx=payments, render=render)
    assert first == again == RecordedAnswer(402, {"error": {"code": "card_declined"}})
    assert (await order_now(payments, order)).attempts == 1  # tried once
    await refused(
        Conflict,
        "idempotency_key_reused",
        handlers.pay(keyed(order, SUCCEEDS), ctx=payments, render=render),
    )
    paid = await handlers.pay(keyed(order, SUCCEEDS, "key-2"), ctx=payments, render=render)
    assert paid == RecordedAnswer(200, {"status": "paid", "attempts": 2})
    assert await handlers.pay(keyed(order, SUCCEEDS, "key-2"), ctx=payments, render=render) == paid
    # Keys are the user's own: another buyer's "key-1" is another key.
    other = await an_order(payments, winner="eve")
    mine = await handlers.pay(keyed(other, SUCCEEDS, buyer=EVE), ctx=payments, render=render)
    assert mine == RecordedAnswer(200, {"status": "paid", "attempts": 1})
    assert (await events(payments)).count("OrderPaid") == 2


async def test_a_key_in_flight_is_refused_until_its_request_is_given_up(
    payments: Payments, clock: Clock
) -> None:
    order = await an_order(payments)
    async with payments.uow() as tx:  # a request that claimed the key, then died
        await store.claim_idempotency_key(
            tx.conn, user_id="bob", key="key-1", request_hash=f"{order.id}:{SUCCEEDS}", now=START
        )
    await refused(
        Conflict,
        "request_in_flight",
        handlers.pay(keyed(order, SUCCEEDS), ctx=payments, render=render),
    )
    clock.now = START + timedelta(seconds=IN_FLIGHT_SECONDS + 1)
    taken = await handlers.pay(keyed(order, SUCCEEDS), ctx=payments, render=render)
    assert taken == RecordedAnswer(200, {"status": "paid", "attempts": 1})


async def test_an_answer_that_may_change_is_not_kept(payments: Payments) -> None:
    order = await an_order(payments)
    sandbox = payments.provider
    payments.provider = Unreachable(
        ProviderError("payment_provider_unavailable", "away", unavailable=True)
    )
    command = Pay(order.id, BOB, idempotency=Idempotency("key-1", "no card"))
    await refused(
        Unavailable,
        "payment_provider_unavailable",
        handlers.pay(command, ctx=payments, render=render),
    )
    payments.provider = sandbox
    retried = await handlers.pay(command, ctx=payments, render=render)
    assert retried == RecordedAnswer(200, {"status": "awaiting_payment", "attempts": 0})


async def test_keys_are_forgotten_after_their_retention(payments: Payments, clock: Clock) -> None:
    order = await an_order(payments)
    await handlers.pay(keyed(order, DECLINED), ctx=payments, render=render)
    retention = timedelta(hours=payments.settings.idempotency_ttl_hours)
    clock.now = START + retention - timedelta(seconds=1)
    assert await handlers.forget_old_idempotency_keys(payments, older_than=retention) == 0
    clock.now = START + retention + timedelta(seconds=1)
    assert await handlers.forget_old_idempotency_keys(payments, older_than=retention) == 1
    clock.now = START + timedelta(hours=1)  # the order is still payable
    paid = await handlers.pay(keyed(order, SUCCEEDS), ctx=payments, render=render)
    assert paid == RecordedAnswer(200, {"status": "paid", "attempts": 2})
