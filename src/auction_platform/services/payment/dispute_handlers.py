"""Use cases of disputes: open one, read it, write in it, the seller's refund, an admin's decision.

One transaction each, except a refund: it is recorded as pending, asked of the
provider outside any transaction (the sandbox's ``charge.refunded`` arrives through
the webhook meanwhile), then recorded with the order's new ``refunded_cents``, the
ledger's debit and the audit record. Refusals of the rules (``disputes``) leave as
domain errors: a caller with no part is forbidden (403), bad words or amounts are
invalid (422), every other refusal is about the moment (409).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from auction_platform.contracts import audit
from auction_platform.contracts.payments import (
    DISPUTE_MESSAGE,
    DISPUTE_OPENED,
    DISPUTE_RESOLVED,
    DisputeData,
)
from auction_platform.core.failures import Conflict, DomainError, Forbidden, Invalid, NotFound
from auction_platform.core.uow import Transaction
from auction_platform.services.payment import dispute_store, disputes, domain, payouts, store
from auction_platform.services.payment.disputes import (
    Decision,
    Dispute,
    Entry,
    Message,
    Outcome,
    Reason,
    Role,
)
from auction_platform.services.payment.domain import Caller, NotAllowed, Order
from auction_platform.services.payment.handlers import (
    Payments,
    provider_failed,
    save_transition,
    visible,
)
from auction_platform.services.payment.providers import ProviderError, refund_key

_KINDS: dict[str, type[DomainError]] = {
    "not_the_buyer": Forbidden,
    "not_the_seller": Forbidden,
    "not_a_party": Forbidden,
    "invalid_message": Invalid,
    "invalid_reason": Invalid,
    "invalid_amount": Invalid,
}


@dataclass(frozen=True, slots=True)
class OpenDispute:
    """The buyer disputes a paid order."""

    order_id: str
    caller: Caller
    reason: Reason
    body: str


@dataclass(frozen=True, slots=True)
class WriteMessage:
    """A party (or an admin) writes in an order's dispute."""

    order_id: str
    caller: Caller
    body: str


@dataclass(frozen=True, slots=True)
class SellerRefund:
    """The seller gives back part or all of what is left of the payment."""

    order_id: str
    caller: Caller
    amount_cents: int


@dataclass(frozen=True, slots=True)
class Decide:
    """An admin ends a dispute: money back to the buyer (0 or more), or for the seller."""

    order_id: str
    admin: Caller
    decision: Decision
    amount_cents: int
    reason: str


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute, its order and its thread, oldest first."""

    dispute: Dispute
    order: Order
    thread: list[Message]


def refusal(error: NotAllowed) -> DomainError:
    """A refusal of the dispute rules, as the kind of error the HTTP edge maps."""
    return _KINDS.get(error.code, Conflict)(error.code, error.message)


def dispute_not_found() -> NotFound:
    """The answer for an order with no dispute."""
    return NotFound("dispute_not_found", "the order has no dispute")


def dispute_data(
    dispute: Dispute, order: Order, message: Message | None, *, at: datetime
) -> DisputeData:
    """A dispute as other services know it (the ``data`` of its events)."""
    return {
        "dispute_id": dispute.id,
        "order_id": order.id,
        "auction_id": order.auction_id,
        "title": order.title,
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "currency": order.currency,
        "reason": dispute.reason.value,
        "status": dispute.status.value,
        "outcome": dispute.outcome.value if dispute.outcome else None,
        "paid_cents": disputes.paid_cents(order),
        "refunded_cents": order.refunded_cents,
        "author_id": message.author_id if message else None,
        "author_role": message.author_role.value if message else None,
        "body": message.body if message and message.kind is not Entry.REFUND else None,
        "amount_cents": message.amount_cents if message else None,
        "at": at.isoformat(),
    }


async def _locked(tx: Transaction, order_id: str, caller: Caller) -> tuple[Order, Dispute]:
    """The order (locked: it orders every change of its dispute) and its dispute."""
    order = visible(await store.order_by_id(tx.conn, order_id, for_update=True), caller)
    dispute = await dispute_store.dispute_of_order(tx.conn, order.id)
    if dispute is None:
        raise dispute_not_found()
    return order, dispute


def _new_id() -> str:
    # Time first: a thread reads in (created_at, id) order, and a refund and the decision
    # it carries out share their moment.
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


async def open_dispute(command: OpenDispute, *, ctx: Payments) -> DisputeView:
    """The buyer opens a dispute: the order's payout is held and the seller told."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        order = visible(
            await store.order_by_id(tx.conn, command.order_id, for_update=True), command.caller
        )
        existing = await dispute_store.dispute_of_order(tx.conn, order.id)
        try:
            dispute, first = disputes.open_dispute(
                order,
                command.caller,
                existing,
                dispute_id=_new_id(),
                message_id=_new_id(),
                reason=command.reason,
                body=command.body,
                now=now,
            )
        except NotAllowed as error:
            raise refusal(error) from error
        await dispute_store.add_dispute(tx.conn, dispute)
        await dispute_store.add_message(tx.conn, first)
        await payouts.hold_for_dispute(tx, order.id, now=now)
        tx.emit(DISPUTE_OPENED, dict(dispute_data(dispute, order, first, at=now)))
    return DisputeView(dispute, order, [first])


async def get_dispute(order_id: str, *, caller: Caller, ctx: Payments) -> DisputeView:
    """An order's dispute and its thread, for its buyer, its seller and admins."""
    async with ctx.uow.db.read() as conn:
        order = visible(await store.order_by_id(conn, order_id), caller)
        dispute = await dispute_store.dispute_of_order(conn, order.id)
        if dispute is None:
            raise dispute_not_found()
        thread = await dispute_store.thread_of(conn, dispute.id)
    return DisputeView(dispute, order, thread)


async def write_message(command: WriteMessage, *, ctx: Payments) -> Message:
    """A message in an open dispute; the other party hears of it (both, an admin's)."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        order, dispute = await _locked(tx, command.order_id, command.caller)
        try:
            message = disputes.write(
                dispute, command.caller, message_id=_new_id(), body=command.body, now=now
            )
        except NotAllowed as error:
            raise refusal(error) from error
        await dispute_store.add_message(tx.conn, message)
        tx.emit(DISPUTE_MESSAGE, dict(dispute_data(dispute, order, message, at=now)))
    return message


async def open_disputes(*, limit: int, ctx: Payments) -> list[DisputeView]:
    """The admins' queue: open disputes, oldest first, with their orders (threads not read)."""
    async with ctx.uow.db.read() as conn:
        found = await dispute_store.disputes_by_status(
            conn, disputes.DisputeStatus.OPEN, limit=limit
        )
        views = []
        for dispute in found:
            order = await store.order_by_id(conn, dispute.order_id)
            assert order is not None
            views.append(DisputeView(dispute, order, []))
    return views


async def seller_refund(command: SellerRefund, *, ctx: Payments) -> DisputeView:
    """The seller gives money back: a partial refund leaves the dispute open, all of it ends it."""
    async with ctx.uow.db.read() as conn:
        order = visible(await store.order_by_id(conn, command.order_id), command.caller)
    if order.seller_id != command.caller.user_id:
        raise Forbidden("not_the_seller", "only the seller refunds from a dispute")
    return await _refund(
        command.order_id, command.caller, Role.SELLER, command.amount_cents, None, ctx=ctx
    )


async def decide(command: Decide, *, ctx: Payments) -> DisputeView:
    """An admin ends a dispute: an amount back to the buyer, or in the seller's favour."""
    try:
        reason = disputes.clean_text(
            command.reason, limit=disputes.REASON_MAX, code="invalid_reason"
        )
    except NotAllowed as error:
        raise refusal(error) from error
    if command.amount_cents > 0 and command.decision is Decision.REFUND:
        return await _refund(
            command.order_id, command.admin, Role.ADMIN, command.amount_cents, reason, ctx=ctx
        )
    now = ctx.clock()
    async with ctx.uow() as tx:
        order, dispute = await _locked(tx, command.order_id, command.admin)
        try:
            disputes.check_decision(dispute, command.decision, command.amount_cents)
        except NotAllowed as error:
            raise refusal(error) from error
        outcome = (
            Outcome.DECIDED_REFUND
            if command.decision is Decision.REFUND
            else Outcome.DECIDED_FOR_SELLER
        )
        note = Message(
            _new_id(), dispute.id, command.admin.user_id, Role.ADMIN, Entry.DECISION, reason, now, 0
        )
        await dispute_store.add_message(tx.conn, note)
        ended = await _resolve(tx, dispute, order, outcome, note, by=command.admin, now=now)
        thread = await dispute_store.thread_of(tx.conn, dispute.id)
    return DisputeView(ended, order, thread)


async def _resolve(
    tx: Transaction,
    dispute: Dispute,
    order: Order,
    outcome: Outcome,
    note: Message,
    *,
    by: Caller | None,
    now: datetime,
) -> Dispute:
    """End the dispute: its hold released, both parties told, an admin's decision audited."""
    reason = note.body if note.kind is Entry.DECISION else None
    decided_by = by.user_id if by is not None and note.kind is Entry.DECISION else None
    ended = disputes.resolve(dispute, outcome, now=now, decided_by=decided_by, reason=reason)
    await dispute_store.save_dispute(tx.conn, ended)
    await payouts.release_dispute_hold(tx, order.id, now=now)
    if decided_by is not None:
        audit.record(
            tx,
            actor_id=decided_by,
            action="dispute.decided",
            target=f"dispute:{dispute.id}",
            at=now.isoformat(),
            reason=reason,
            details={
                "order_id": order.id,
                "outcome": outcome.value,
                "refunded_cents": order.refunded_cents,
            },
        )
    tx.emit(DISPUTE_RESOLVED, dict(dispute_data(ended, order, note, at=now)))
    return ended


async def _refund(
    order_id: str,
    actor: Caller,
    role: Role,
    amount_cents: int,
    decision_reason: str | None,
    *,
    ctx: Payments,
) -> DisputeView:
    """Give ``amount_cents`` back through the provider, once (see the module's docstring)."""
    async with ctx.uow() as tx:
        order, dispute = await _locked(tx, order_id, actor)
        try:
            asked = disputes.ask_refund(dispute, order, amount_cents=amount_cents, now=ctx.clock())
        except NotAllowed as error:
            raise refusal(error) from error
        if asked is not dispute:
            await dispute_store.save_dispute(tx.conn, asked)
    # The provider is told the total given back before this refund, even on a retry.
    before = dataclasses.replace(order, refunded_cents=asked.pending_refund_base or 0)
    try:
        done = await ctx.provider.refund(
            before, amount_cents=amount_cents, key=refund_key(order, asked.refunds)
        )
    except ProviderError as error:
        async with ctx.uow() as tx:
            current = await dispute_store.dispute_of_order(tx.conn, order_id, for_update=True)
            if current is not None and current.pending_refund_cents is not None:
                await dispute_store.save_dispute(
                    tx.conn, disputes.refund_settled(current, now=ctx.clock())
                )
        raise provider_failed(error) from error
    return await _refunded(
        order_id, actor, role, asked, decision_reason, settled=done.status == "succeeded", ctx=ctx
    )


async def _refunded(
    order_id: str,
    actor: Caller,
    role: Role,
    asked: Dispute,
    decision_reason: str | None,
    *,
    settled: bool,
    ctx: Payments,
) -> DisputeView:
    """Record a refund the provider made: the order, the ledger, the thread, the audit."""
    now = ctx.clock()
    amount = asked.pending_refund_cents or 0
    target = disputes.refund_target(asked)
    async with ctx.uow() as tx:
        order, dispute = await _locked(tx, order_id, actor)
        if settled and order.refunded_cents < target:
            # The webhook may have come first (the sandbox's does): then nothing changes here.
            full = target >= disputes.paid_cents(order)
            change = domain.refunded(order, refunded_cents=target, full=full, now=now)
            await save_transition(tx, order, change, refunded_cents=target)
            order = change.order
        dispute = disputes.refund_settled(dispute, now=now)
        await dispute_store.save_dispute(tx.conn, dispute)
        given = Message(_new_id(), dispute.id, actor.user_id, role, Entry.REFUND, "", now, amount)
        await dispute_store.add_message(tx.conn, given)
        audit.record(
            tx,
            actor_id=actor.user_id,
            action="order.refunded",
            target=f"order:{order.id}",
            at=now.isoformat(),
            reason=decision_reason,
            details={
                "amount_cents": amount,
                "refunded_cents": target,
                "dispute_id": dispute.id,
                "by": role.value,
            },
        )
        if decision_reason is not None:
            note = Message(
                _new_id(),
                dispute.id,
                actor.user_id,
                Role.ADMIN,
                Entry.DECISION,
                decision_reason,
                now,
                amount,
            )
            await dispute_store.add_message(tx.conn, note)
            dispute = await _resolve(
                tx, dispute, order, Outcome.DECIDED_REFUND, note, by=actor, now=now
            )
        elif disputes.refundable_cents(order) == 0 and dispute.is_open:
            dispute = await _resolve(tx, dispute, order, Outcome.REFUNDED, given, by=None, now=now)
        else:
            tx.emit(DISPUTE_MESSAGE, dict(dispute_data(dispute, order, given, at=now)))
        thread = await dispute_store.thread_of(tx.conn, dispute.id)
    return DisputeView(dispute, order, thread)
