"""Payout use cases: a seller's balance and payouts, connecting an account, admins' holds,
the job that sends due payouts, and the provider's news about accounts and transfers.

Like the order's use cases, none holds a transaction open across a provider call:
the job marks a payout ``sending`` (one more attempt, one more idempotency key),
commits, asks the provider, then records the outcome. A process that dies in
between leaves it ``sending``; after ``STUCK_AFTER`` the job asks again with the
same key, and the provider answers with the transfer it made, not a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auction_platform.contracts import audit
from auction_platform.contracts.payments import PAYOUT_SENT, PayoutData
from auction_platform.core.failures import Conflict, NotFound
from auction_platform.core.uow import Transaction
from auction_platform.services.payment import dispute_store, ledger, payout_store, store
from auction_platform.services.payment.handlers import (
    Payments,
    decode_cursor,
    encode_cursor,
    provider_failed,
)
from auction_platform.services.payment.ledger import Balance, Payout, PayoutStatus
from auction_platform.services.payment.payout_providers import Onboarding
from auction_platform.services.payment.payout_store import Account
from auction_platform.services.payment.providers import ProviderError

log = logging.getLogger("auction_platform.payment.payouts")

BATCH = 20
# A payout left ``sending`` this long was being sent by a process that stopped.
STUCK_AFTER = timedelta(minutes=10)
ACCOUNT_UPDATED = "account.updated"
TRANSFER_REVERSED = "transfer.reversed"
HANDLED = (ACCOUNT_UPDATED, TRANSFER_REVERSED)


@dataclass(frozen=True, slots=True)
class Statement:
    """A seller's balances by currency and their payout account, if any."""

    balances: list[Balance]
    account: Account | None


@dataclass(frozen=True, slots=True)
class PayoutPage:
    """One page of payouts, and the cursor of the next (None on the last)."""

    items: list[Payout]
    next_cursor: str | None


def refused(error: ledger.Refused) -> Conflict:
    """A payout rule's refusal: the payout is not in a state that allows it."""
    return Conflict(error.code, error.message)


def payout_not_found() -> NotFound:
    """The one answer for a payout that does not exist."""
    return NotFound("payout_not_found", "there is no such payout")


async def statement(seller_id: str, *, ctx: Payments) -> Statement:
    """A seller's balances: pending, available (being paid), paid out and owed, by currency."""
    async with ctx.uow.db.read() as conn:
        entries = await payout_store.entries_of_seller(conn, seller_id)
        payouts = await payout_store.payouts_of(conn, seller_id=seller_id)
        account = await payout_store.account_of(conn, seller_id)
    return Statement(ledger.balances(entries, payouts), account)


async def list_payouts(
    seller_id: str | None,
    *,
    status: PayoutStatus | None,
    cursor: str | None,
    limit: int,
    ctx: Payments,
) -> PayoutPage:
    """A seller's payouts (or everyone's, ``seller_id`` None), newest first."""
    after = decode_cursor(cursor) if cursor else None
    async with ctx.uow.db.read() as conn:
        found = await payout_store.payouts_of(
            conn, seller_id=seller_id, status=status, after=after, limit=limit + 1
        )
    page = found[:limit]
    more = len(found) > limit
    return PayoutPage(page, encode_cursor(page[-1]) if more else None)


async def connect_account(seller_id: str, *, ctx: Payments) -> Onboarding:
    """Open (or resume) the seller's account with the payout provider: where to finish it."""
    async with ctx.uow.db.read() as conn:
        known = await payout_store.account_of(conn, seller_id)
    site = ctx.settings.public_url.rstrip("/")
    try:
        onboarding = await ctx.payout_provider.connect(
            seller_id,
            known.account_id if known else None,
            return_url=f"{site}/account/payouts?connected=1",
            refresh_url=f"{site}/account/payouts",
        )
    except ProviderError as error:
        raise provider_failed(error) from error
    now = ctx.clock()
    async with ctx.uow() as tx:
        account = Account(
            seller_id, ctx.payout_provider.name, onboarding.account_id, onboarding.payouts_enabled
        )
        await payout_store.add_account(tx.conn, account, now=now)
        if onboarding.payouts_enabled:
            await _account_enabled(tx, onboarding.account_id, now=now)
    return onboarding


async def _account_enabled(tx: Transaction, account_id: str, *, now: datetime) -> str:
    """Record that an account may receive money; its seller's waiting payouts go out."""
    await payout_store.enable_account(tx.conn, account_id, enabled=True, now=now)
    account = await payout_store.account_by_provider_id(tx.conn, account_id)
    if account is None:
        return "unknown_account"
    for payout in await payout_store.waiting_payouts(tx.conn, account.seller_id):
        await payout_store.save_payout(tx.conn, ledger.account_connected(payout, now=now))
    return "account_enabled"


async def _locked_payout(tx: Transaction, payout_id: str) -> Payout:
    found = await payout_store.payout_by_id(tx.conn, payout_id, for_update=True)
    if found is None:
        raise payout_not_found()
    return found


def _audit(tx: Transaction, payout: Payout, *, action: str, by: str, reason: str | None) -> None:
    """Put an admin's hold or release of a payout in the audit trail."""
    audit.record(
        tx,
        actor_id=by,
        action=action,
        target=f"payout:{payout.id}",
        at=payout.updated_at.isoformat(),
        reason=reason,
        details={
            "seller_id": payout.seller_id,
            "amount_cents": payout.amount_cents,
            "currency": payout.currency,
            "status": payout.status.value,
        },
    )


async def hold(
    payout_id: str, *, reason: str, ctx: Payments, actor_id: str = audit.SYSTEM
) -> Payout:
    """An admin holds a payout: it is not sent until released."""
    async with ctx.uow() as tx:
        payout = await _locked_payout(tx, payout_id)
        try:
            held = ledger.hold(payout, reason=reason, now=ctx.clock())
        except ledger.Refused as error:
            raise refused(error) from error
        await payout_store.save_payout(tx.conn, held)
        _audit(tx, held, action="payout.held", by=actor_id, reason=reason)
    return held


async def release(
    payout_id: str, *, ctx: Payments, actor_id: str = audit.SYSTEM, reason: str | None = None
) -> Payout:
    """An admin lets a held (or failed) payout go: the next run of the job sends it."""
    async with ctx.uow() as tx:
        payout = await _locked_payout(tx, payout_id)
        if await dispute_store.has_open_dispute(tx.conn, payout.order_id):
            raise Conflict("payout_disputed", "the order's dispute is open: its end releases it")
        account = await payout_store.account_of(tx.conn, payout.seller_id)
        ready = account is not None and account.payouts_enabled
        try:
            released = ledger.unhold(payout, account_ready=ready, now=ctx.clock())
        except ledger.Refused as error:
            raise refused(error) from error
        await payout_store.save_payout(tx.conn, released)
        _audit(tx, released, action="payout.released", by=actor_id, reason=reason)
    return released


async def _claim(ctx: Payments, now: datetime) -> list[tuple[Payout, str]]:
    """Due payouts marked ``sending``, with where each goes; the rest wait for an account."""
    claimed: list[tuple[Payout, str]] = []
    async with ctx.uow() as tx:
        due = await payout_store.claim_due_payouts(
            tx.conn, stuck_before=now - STUCK_AFTER, limit=BATCH
        )
        for payout in due:
            account = await payout_store.account_of(tx.conn, payout.seller_id)
            if account is None:
                await payout_store.save_payout(tx.conn, ledger.await_account(payout, now=now))
                continue
            if not account.payouts_enabled and payout.status is PayoutStatus.PENDING:
                # One left sending keeps its key: the provider refuses it or has sent it.
                await payout_store.save_payout(tx.conn, ledger.await_account(payout, now=now))
                continue
            sending = ledger.start_sending(payout, now=now)
            await payout_store.save_payout(tx.conn, sending)
            claimed.append((sending, account.account_id))
    return claimed


async def _record(ctx: Payments, payout: Payout, outcome: str | ProviderError) -> None:
    """What the provider said of one attempt, unless the payout moved on meanwhile."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        current = await _locked_payout(tx, payout.id)
        if current.status is not PayoutStatus.SENDING or current.attempts != payout.attempts:
            return
        if isinstance(outcome, str):
            paid, debit = ledger.sent(current, transfer_id=outcome, now=now)
            await payout_store.save_payout(tx.conn, paid)
            if await payout_store.add_entry(tx.conn, debit):
                order = await store.order_by_id(tx.conn, paid.order_id)
                title = order.title if order else ""
                tx.emit(PAYOUT_SENT, dict(payout_data(paid, title=title, paid_at=now)))
        elif not outcome.unavailable:
            await payout_store.save_payout(
                tx.conn, ledger.failed(current, reason=outcome.message, now=now)
            )
            log.error("payout %s was refused: %s", payout.id, outcome.message)


async def send_due_payouts(ctx: Payments, *, now: datetime) -> int:
    """Send the payouts that are due; the number tried."""
    claimed = await _claim(ctx, now)
    for payout, destination in claimed:
        try:
            outcome: str | ProviderError = await ctx.payout_provider.transfer(
                payout, destination=destination
            )
        except ProviderError as error:
            # Unreachable: left ``sending``, asked again with the same key after STUCK_AFTER.
            outcome = error
        await _record(ctx, payout, outcome)
    return len(claimed)


def payout_data(payout: Payout, *, title: str, paid_at: datetime) -> PayoutData:
    """A paid payout as other services know it (the ``data`` of ``PayoutSent``)."""
    return {
        "payout_id": payout.id,
        "order_id": payout.order_id,
        "title": title,
        "seller_id": payout.seller_id,
        "amount_cents": payout.amount_cents,
        "currency": payout.currency,
        "paid_at": paid_at.isoformat(),
    }


async def apply_provider_event(
    tx: Transaction, event_type: str, obj: dict[str, Any], *, now: datetime
) -> tuple[str, str | None]:
    """A verified ``account.updated`` or ``transfer.reversed``: its outcome and order, if any."""
    object_id = obj.get("id")
    if not isinstance(object_id, str):
        return "unknown_object", None
    if event_type == ACCOUNT_UPDATED:
        if obj.get("payouts_enabled") is True:
            return await _account_enabled(tx, object_id, now=now), None
        await payout_store.enable_account(tx.conn, object_id, enabled=False, now=now)
        return "account_not_enabled", None
    payout = await payout_store.payout_by_transfer(tx.conn, object_id)
    if payout is None:
        return "unknown_transfer", None
    reversal = ledger.reversed_transfer(payout, now=now)
    if reversal is None:
        return f"ignored_{payout.status.value}", payout.order_id
    failed, credit = reversal
    await payout_store.save_payout(tx.conn, failed)
    await payout_store.add_entry(tx.conn, credit)
    log.error("the transfer of payout %s was reversed", payout.id)
    return "payout_reversed", payout.order_id
