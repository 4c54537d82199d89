"""Use cases of the payment service: one transaction each, none open across a provider call.

Each takes a command of ``commands`` and returns what it made, or raises a domain
error of ``core.failures`` (``api.ERRORS`` maps them to HTTP). ``pay`` with an
Idempotency-Key records its answer as the HTTP edge renders it (``render``, given by
the route) and gives that answer to every retry (``idempotency``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from auction_platform.contracts import audit
from auction_platform.contracts.payments import (
    ORDER_CREATED,
    ORDER_PAID,
    ORDER_RECEIVED,
    ORDER_REFUNDED,
    ORDER_SHIPPED,
    PAYMENT_FAILED,
)
from auction_platform.core.failures import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PaymentRefused,
    Unavailable,
)
from auction_platform.core.sql import utc
from auction_platform.core.uow import Transaction, UnitOfWork
from auction_platform.services.payment import (
    delivery,
    domain,
    idempotency,
    payouts,
    store,
    views,
)
from auction_platform.services.payment.commands import (
    AcceptOffer,
    ChooseDelivery,
    ConfirmReceipt,
    ListOrders,
    MarkShipped,
    Party,
    Pay,
    RefundOrder,
)
from auction_platform.services.payment.domain import (
    Caller,
    DeliveryTerms,
    Offer,
    Order,
    Transition,
)
from auction_platform.services.payment.idempotency import RecordedAnswer
from auction_platform.services.payment.payout_providers import PayoutProvider, SandboxPayouts
from auction_platform.services.payment.providers import (
    CardDeclined,
    CardRefused,
    Intent,
    PaymentProvider,
    ProviderError,
)
from auction_platform.settings import Settings

# What each state change tells the other services.
EVENTS = {"paid": ORDER_PAID, "attempt_recorded": PAYMENT_FAILED, "refunded": ORDER_REFUNDED}


@dataclass
class Payments:
    """What the payment use cases need, built once by the service definition."""

    uow: UnitOfWork
    settings: Settings
    clock: Callable[[], datetime]
    provider: PaymentProvider
    payout_provider: PayoutProvider = dataclasses.field(default_factory=SandboxPayouts)

    @property
    def terms(self) -> domain.Terms:
        """Fees and the payment deadline, from the settings (recorded on each order)."""
        s = self.settings
        return domain.Terms(
            buyers_premium_percent=Decimal(str(s.buyers_premium_percent)),
            seller_fee_percent=Decimal(str(s.seller_fee_percent)),
            due_after=timedelta(days=s.payment_due_days),
        )

    @property
    def receipt_period(self) -> timedelta:
        """How long after shipment a receipt is confirmed for the buyer."""
        return timedelta(days=self.settings.receipt_confirm_days)

    @property
    def webhook_secrets(self) -> list[str]:
        """The secrets a webhook may be signed with; the sandbox's only in the sandbox."""
        secrets = [s.get_secret_value() for s in self.settings.stripe_webhook_secrets]
        if self.settings.payment_provider == "sandbox":
            secrets.append(self.settings.sandbox_webhook_secret.get_secret_value())
        return [s for s in secrets if s]


@dataclass(frozen=True, slots=True)
class OrderPage:
    """One page of orders, and the cursor of the next (None on the last)."""

    items: list[Order]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PaymentStarted:
    """An order being paid, and the provider's intent the buyer's client confirms."""

    order: Order
    intent: Intent


# How the HTTP edge sends a payment's outcome (status and JSON body), given by the
# route; used here only to record the answer of a request with an Idempotency-Key.
Render = Callable[[PaymentStarted | DomainError], tuple[int, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The order a second-chance offer made (``created`` False when it was taken before)."""

    order: Order
    created: bool


class ProviderFailed(Unavailable):
    """The payment provider refused a request it should have taken (a bad gateway)."""


def refused(error: domain.NotAllowed) -> Conflict:
    """A rule's refusal: the order or offer is not in a state that allows it."""
    return Conflict(error.code, error.message)


def provider_failed(error: ProviderError) -> DomainError:
    """A declined card (402), a card not taken here, the provider's failure or absence."""
    if isinstance(error, CardDeclined):
        return PaymentRefused(domain.refusal_code(error.code, error.decline_code), error.message)
    if isinstance(error, CardRefused):
        return Invalid(error.code, error.message)
    if error.unavailable:
        return Unavailable(error.code, error.message, retry_after=5)
    return ProviderFailed(error.code, error.message)


# Refusals of a delivery choice that are about the request, not the order's state.
BAD_CHOICES = frozenset(
    {"method_not_offered", "address_required", "address_incomplete", "no_shipping_to_country"}
)


def delivery_refused(error: domain.NotAllowed) -> DomainError:
    """A delivery rule's refusal: 422 for a choice that cannot be, 409 for the order's state."""
    if error.code in BAD_CHOICES:
        return Invalid(error.code, error.message)
    return refused(error)


def order_not_found() -> NotFound:
    """The one answer for orders that do not exist and orders that are not yours."""
    return NotFound("order_not_found", "there is no such order")


def visible(order: Order | None, caller: Caller) -> Order:
    """The order, if the caller is its buyer, its seller or an admin."""
    if order is None or not domain.may_see(order, caller):
        raise order_not_found()
    return order


def emit_change(tx: Transaction, transition: Transition, **extra: Any) -> None:
    """Queue the event a state change is due, if any (a paid one says how to deliver)."""
    event = EVENTS.get(transition.outcome) if transition.changed else None
    if event is not None:
        order = transition.order
        data = views.order_delivery_data(order) if event == ORDER_PAID else views.order_data(order)
        tx.emit(event, {**data, **extra})


async def save_transition(
    tx: Transaction, before: Order, transition: Transition, **extra: Any
) -> None:
    """Write an order's change and its event in the caller's transaction."""
    if transition.order is before:
        return
    await store.save_order(tx.conn, transition.order)
    if transition.order.status is not domain.Status.AWAITING_PAYMENT:
        await store.drop_unsent_reminders(tx.conn, before.id)
    emit_change(tx, transition, **extra)
    after = transition.order
    if transition.outcome == "paid":
        await payouts.credit_paid_order(tx, after, now=after.updated_at)
    if after.refunded_cents > before.refunded_cents:
        await payouts.debit_refund(tx, after, after.refunded_cents, now=after.updated_at)


async def open_order(tx: Transaction, order: Order, ctx: Payments) -> bool:
    """Insert an order with its reminders and ``OrderCreated``; False when the auction has one."""
    if not await store.add_order(tx.conn, order):
        return False
    hours = ctx.settings.payment_reminder_hours
    await store.add_reminders(tx.conn, order.id, domain.reminder_schedule(order, hours))
    tx.emit(ORDER_CREATED, dict(views.order_data(order)))
    return True


class Listed(Protocol):
    """What is listed newest first by (created_at, id): an order, a payout."""

    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


def encode_cursor(item: Listed) -> str:
    """An opaque keyset cursor after ``item``."""
    raw = f"{item.created_at.isoformat()}|{item.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor stands for; 422 when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, order_id = raw.split("|", 1)
        moment = datetime.fromisoformat(at)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise Invalid("invalid_cursor", "the cursor is not valid") from error
    return utc(moment), order_id


async def list_orders(command: ListOrders, *, ctx: Payments) -> OrderPage:
    """The caller's orders as buyer or as seller, or every order (admins); newest first."""
    caller, party = command.caller, command.party
    if party is Party.ANY and not caller.is_admin:
        raise Forbidden("forbidden", "only admins list every order")
    after = decode_cursor(command.cursor) if command.cursor else None
    async with ctx.uow.db.read() as conn:
        found = await store.orders_of(
            conn,
            user_id=None if party is Party.ANY else caller.user_id,
            as_seller=party is Party.SELLER,
            status=command.status,
            after=after,
            limit=command.limit + 1,
        )
    page = found[: command.limit]
    return OrderPage(page, encode_cursor(page[-1]) if len(found) > command.limit else None)


async def get_order(order_id: str, *, caller: Caller, ctx: Payments) -> Order:
    """One order, for its buyer, its seller or an admin, with the delivery terms it offers."""
    async with ctx.uow.db.read() as conn:
        order = visible(await store.order_by_id(conn, order_id), caller)
        if order.delivery_terms is None:
            # Shown, not saved: the order copies them when the buyer chooses or pays.
            order = dataclasses.replace(order, delivery_terms=await terms_for(conn, order))
    return order


async def terms_for(conn: AsyncConnection, order: Order) -> DeliveryTerms:
    """How an order may be delivered: as it copied them, else as its lot says now, else
    the default (the buyer arranges)."""
    if order.delivery_terms is not None:
        return order.delivery_terms
    found = await store.lot_delivery_terms(conn, order.auction_id)
    return found if found is not None else views.DEFAULT_TERMS


async def pay(command: Pay, *, ctx: Payments, render: Render) -> PaymentStarted | RecordedAnswer:
    """Pay an order, once per Idempotency-Key: the first answer again for a retry.

    Without a key, ``charge``'s outcome; with one, the answer recorded for it (the
    key is claimed before anything is tried). A refusal is recorded like a success,
    a 402 included; an ``Unavailable`` one is not (the same request may succeed later).
    """
    keyed = command.idempotency
    if keyed is None:
        return await charge(command, ctx=ctx)
    buyer = command.buyer.user_id
    async with ctx.uow() as tx:
        earlier = await idempotency.claim(tx.conn, buyer, keyed, now=ctx.clock())
    if isinstance(earlier, DomainError):
        raise earlier
    if earlier is not None:
        return earlier
    try:
        outcome: PaymentStarted | DomainError = await charge(command, ctx=ctx)
    except Unavailable:
        await _release(ctx, buyer, command)
        raise
    except DomainError as refusal:
        outcome = refusal
    except BaseException:
        await _release(ctx, buyer, command)
        raise
    answer = RecordedAnswer(*render(outcome))
    async with ctx.uow() as tx:
        await idempotency.record(tx.conn, buyer, keyed, answer)
    return answer


async def _release(ctx: Payments, buyer: str, command: Pay) -> None:
    assert command.idempotency is not None
    async with ctx.uow() as tx:
        await idempotency.release(tx.conn, buyer, command.idempotency)


async def charge(command: Pay, *, ctx: Payments) -> PaymentStarted:
    """Start (or resume) paying: the order's one intent, confirmed with a card in the sandbox.

    A declined card is refused (``PaymentRefused``, with the provider's reason as its
    code): the attempt is recorded on the order, which still awaits payment.
    """
    async with ctx.uow.db.read() as conn:
        order = visible(await store.order_by_id(conn, command.order_id), command.buyer)
    if order.buyer_id != command.buyer.user_id:
        raise Forbidden("forbidden", "only the buyer pays an order")
    try:
        domain.check_can_pay(order, now=ctx.clock())
    except domain.NotAllowed as error:
        raise refused(error) from error
    if order.delivery_method is None:
        order = await _settle_delivery(order.id, ctx)
    provider, card = ctx.provider, command.card
    if card is not None and not provider.accepts_cards:
        raise Invalid("card_not_accepted", "card numbers are not accepted; use Stripe.js")
    try:
        if order.payment_intent_id is None:
            intent = await provider.create_intent(order)
            async with ctx.uow() as tx:
                await store.attach_payment_intent(tx.conn, order.id, intent.id)
        else:
            intent = await provider.retrieve_intent(order.payment_intent_id, order)
        if card is not None:
            intent = await provider.confirm(intent, order, card)
    except ProviderError as error:
        raise provider_failed(error) from error
    async with ctx.uow.db.read() as conn:
        current = await store.order_by_id(conn, order.id)
    assert current is not None
    return PaymentStarted(current, intent)


async def _settle_delivery(order_id: str, ctx: Payments) -> Order:
    """Before the first payment: the only way of delivery needing no address, when the buyer
    chose none (409 ``delivery_required`` when there is no such one way)."""
    async with ctx.uow() as tx:
        order = await store.order_by_id(tx.conn, order_id, for_update=True)
        assert order is not None
        try:
            ready = delivery.ready_to_pay(order, await terms_for(tx.conn, order), now=ctx.clock())
        except domain.NotAllowed as error:
            raise delivery_refused(error) from error
        if ready is not order:
            await store.save_order(tx.conn, ready)
    return ready


async def forget_old_idempotency_keys(ctx: Payments, *, older_than: timedelta) -> int:
    """Delete Idempotency-Keys past their retention; a retry that late is a new request."""
    async with ctx.uow() as tx:
        return await store.purge_idempotency(tx.conn, before=ctx.clock() - older_than)


async def refund(command: RefundOrder, *, ctx: Payments) -> Order:
    """Give a paid order's money back (an admin's decision), once whatever the retries."""
    async with ctx.uow.db.read() as conn:
        order = await store.order_by_id(conn, command.order_id)
    if order is None:
        raise order_not_found()
    try:
        domain.check_can_refund(order)
        done = await ctx.provider.refund(order)
    except domain.NotAllowed as error:
        raise refused(error) from error
    except ProviderError as error:
        raise provider_failed(error) from error
    async with ctx.uow() as tx:
        current = await store.order_by_id(tx.conn, order.id, for_update=True)
        assert current is not None
        if done.status == "succeeded":
            # Card refunds settle at once; ``charge.refunded`` then finds it done.
            given_back = order.refunded_cents + done.amount_cents  # after any partial ones
            change = domain.refunded(current, refunded_cents=given_back, full=True, now=ctx.clock())
            await save_transition(tx, current, change, refunded_cents=given_back)
            current = change.order
        audit.record(
            tx,
            actor_id=command.actor_id,
            action="order.refunded",
            target=f"order:{order.id}",
            at=ctx.clock().isoformat(),
            reason=command.reason,
            details={
                "amount_cents": done.amount_cents,
                "currency": order.currency,
                "provider_status": done.status,
                "buyer_id": order.buyer_id,
                "seller_id": order.seller_id,
            },
        )
    return current


async def my_offers(user_id: str, *, limit: int, ctx: Payments) -> list[Offer]:
    """A user's second-chance offers, newest first."""
    async with ctx.uow.db.read() as conn:
        return await store.offers_of(conn, user_id, limit=limit)


async def _format_of(tx: Transaction, order_id: str) -> domain.SaleFormat:
    # A second-chance order is sold the way the lot's first order was.
    first = await store.order_by_id(tx.conn, order_id)
    return first.format if first is not None else domain.SaleFormat.ENGLISH


async def accept_offer(command: AcceptOffer, *, ctx: Payments) -> Acceptance:
    """Take a second-chance offer: its order (created now, or the one made before)."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        offer = await store.offer_by_id(tx.conn, command.offer_id, for_update=True)
        if offer is None or offer.user_id != command.user_id:
            raise NotFound("offer_not_found", "there is no such offer")
        if offer.status is domain.OfferStatus.ACCEPTED and offer.order_id is not None:
            existing = await store.order_by_id(tx.conn, offer.order_id)
            if existing is not None:
                return Acceptance(existing, created=False)
        try:
            accepted = domain.accept(offer, order_id=uuid.uuid4().hex, now=now)
            order = domain.new_order(
                order_id=str(accepted.order_id),
                auction_id=offer.auction_id,
                title=offer.title,
                buyer_id=offer.user_id,
                seller_id=offer.seller_id,
                currency=offer.currency,
                hammer_cents=offer.price_cents,
                terms=ctx.terms,
                now=now,
                second_chance=True,
                delivery_terms=await store.lot_delivery_terms(tx.conn, offer.auction_id),
                sale_format=await _format_of(tx, offer.from_order_id),
            )
        except domain.NotAllowed as error:
            raise refused(error) from error
        if not await open_order(tx, order, ctx):
            raise Conflict("order_exists", "this auction has a second-chance order already")
        await store.save_offer(tx.conn, accepted)
    return Acceptance(order, created=True)


async def _locked(tx: Transaction, order_id: str, caller: Caller) -> Order:
    return visible(await store.order_by_id(tx.conn, order_id, for_update=True), caller)


async def choose_delivery(command: ChooseDelivery, *, ctx: Payments) -> Order:
    """The buyer chooses how the lot reaches them, while the order awaits payment.

    The order copies the terms it is delivered under; the shipping cost joins the
    total. With Stripe, the next ``pay`` brings an intent made before to the new total.
    """
    async with ctx.uow() as tx:
        order = await _locked(tx, command.order_id, command.buyer)
        if order.buyer_id != command.buyer.user_id:
            raise Forbidden("forbidden", "only the buyer chooses how an order is delivered")
        terms = await terms_for(tx.conn, order)
        try:
            chosen = delivery.choose(order, terms, command.method, command.address, now=ctx.clock())
        except domain.NotAllowed as error:
            raise delivery_refused(error) from error
        await store.save_order(tx.conn, chosen)
    return chosen


async def mark_shipped(command: MarkShipped, *, ctx: Payments) -> Order:
    """The seller of a paid order sent (or handed over) the lot: ``OrderShipped``, once."""
    async with ctx.uow() as tx:
        order = await _locked(tx, command.order_id, command.seller)
        if order.seller_id != command.seller.user_id:
            raise Forbidden("forbidden", "only the seller marks an order shipped")
        try:
            shipped = delivery.ship(
                order,
                tracking_number=command.tracking_number,
                carrier=command.carrier,
                now=ctx.clock(),
            )
        except domain.NotAllowed as error:
            raise refused(error) from error
        await store.save_order(tx.conn, shipped)
        tx.emit(ORDER_SHIPPED, dict(views.order_delivery_data(shipped)))
    return shipped


async def confirm_receipt(command: ConfirmReceipt, *, ctx: Payments) -> Order:
    """The buyer has the lot: ``OrderReceived`` and the receipt recorded, in one transaction.

    The buyer's confirmation and the automatic one (``buyer`` None, once the
    confirmation period after shipment ran out) both come here. An automatic one
    that finds the order confirmed, refunded or not yet due changes nothing (another
    replica, the buyer or an admin came first).
    """
    automatically = command.buyer is None
    async with ctx.uow() as tx:
        if command.buyer is not None:
            order = await _locked(tx, command.order_id, command.buyer)
            if order.buyer_id != command.buyer.user_id:
                raise Forbidden("forbidden", "only the buyer confirms receipt")
        else:
            found = await store.order_by_id(tx.conn, command.order_id, for_update=True)
            if found is None:
                raise order_not_found()
            order = found
        now = ctx.clock()
        if automatically and not delivery.receipt_due(order, after=ctx.receipt_period, now=now):
            return order
        try:
            received = delivery.receive(order, now=now, automatically=automatically)
        except domain.NotAllowed as error:
            raise refused(error) from error
        await store.save_order(tx.conn, received)
        data = views.order_delivery_data(received)
        tx.emit(
            ORDER_RECEIVED, {**data, "received_at": now.isoformat(), "automatically": automatically}
        )
        await payouts.release_payout(tx, received, now=now)
    return received
