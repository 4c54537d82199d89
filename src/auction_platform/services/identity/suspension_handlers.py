"""Use cases of suspension: an admin suspends an account, or reinstates it early.

A suspension takes effect everywhere at once: in the transaction that records it,
every live access token of the account is marked suspended in the cache's mark set
(a cache that cannot take the marks rolls the suspension back), which every process
follows, so each service refuses those tokens within a moment. Sign-in and refresh
consult the table (``handlers._issue``). The other services learn of it from
``UserSuspended``: the auction service cancels the account's listings, the bidding
service retracts its leading bids, notification mails the user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from auction_platform.contracts import audit
from auction_platform.contracts import identity as contract
from auction_platform.core.auth import suspended_mark
from auction_platform.core.failures import Conflict, DomainError, Invalid
from auction_platform.core.uow import Transaction
from auction_platform.services.identity import handlers, store, suspension_store
from auction_platform.services.identity.domain import AccountError
from auction_platform.services.identity.handlers import Identity
from auction_platform.services.identity.suspension import (
    ReinstateUser,
    SuspendUser,
    Suspension,
    check_reason,
    check_reinstatement,
    check_suspension,
)

# The refusals that are about the account's present state, not the request's terms.
_CONFLICTS = frozenset({"cannot_suspend_self", "already_suspended", "not_suspended"})


@dataclass(frozen=True, slots=True)
class AccountStanding:
    """An account and its latest suspension (None: never suspended), as now stands."""

    user: store.User
    suspension: Suspension | None


def _refused(error: AccountError) -> DomainError:
    if error.code in _CONFLICTS:
        return Conflict(error.code, error.message)
    return Invalid(error.code, error.message)


async def _locked_account(tx: Transaction, user_id: str) -> Suspension | None:
    """Lock the account (sign-in and refresh wait on it) and read its latest suspension."""
    if await store.user_by_id(tx.conn, user_id, for_update=True) is None:
        raise handlers.no_user()
    return await suspension_store.latest_suspension(tx.conn, user_id)


async def suspend(command: SuspendUser, *, ctx: Identity) -> Suspension:
    """Suspend an account: its live tokens are refused everywhere from this moment."""
    now = ctx.clock()
    try:
        reason = check_reason(command.reason)
    except AccountError as error:
        raise _refused(error) from error
    async with ctx.uow() as tx:
        current = await _locked_account(tx, command.user_id)
        try:
            check_suspension(
                admin_id=command.admin_id,
                user_id=command.user_id,
                until=command.until,
                current=current,
                now=now,
            )
        except AccountError as error:
            raise _refused(error) from error
        suspension = Suspension(
            id=uuid.uuid4().hex,
            user_id=command.user_id,
            reason=reason,
            suspended_by=command.admin_id,
            suspended_at=now,
            until=command.until,
        )
        await suspension_store.add_suspension(tx.conn, suspension)
        until = suspension.until.isoformat() if suspension.until else None
        suspended: contract.UserSuspendedData = {
            "user_id": suspension.user_id,
            "reason": reason,
            "until": until,
            "suspended_by": command.admin_id,
            "at": now.isoformat(),
        }
        tx.emit(contract.USER_SUSPENDED, dict(suspended))
        audit.record(
            tx,
            actor_id=command.admin_id,
            action="user.suspended",
            target=f"user:{command.user_id}",
            at=now.isoformat(),
            reason=reason,
            details={"until": until},
        )
        # Last: a cache that cannot take the marks rolls the suspension back.
        await handlers.mark_live_tokens(
            tx.conn,
            command.user_id,
            suspended_mark(suspension.until),
            until=suspension.until,
            ctx=ctx,
        )
    return suspension


async def reinstate(command: ReinstateUser, *, ctx: Identity) -> Suspension:
    """Lift a suspension early: the account may sign in again (its listings stay cancelled)."""
    now = ctx.clock()
    async with ctx.uow() as tx:
        current = await _locked_account(tx, command.user_id)
        try:
            lifted = check_reinstatement(current, now=now)
        except AccountError as error:
            raise _refused(error) from error
        await suspension_store.lift_suspension(tx.conn, lifted.id, by=command.admin_id, now=now)
        reinstated: contract.UserReinstatedData = {
            "user_id": command.user_id,
            "reinstated_by": command.admin_id,
            "at": now.isoformat(),
        }
        tx.emit(contract.USER_REINSTATED, dict(reinstated))
        audit.record(
            tx,
            actor_id=command.admin_id,
            action="user.reinstated",
            target=f"user:{command.user_id}",
            at=now.isoformat(),
            details={"suspension_id": lifted.id},
        )
        # The tokens held from before are stale now, not suspended: a refresh goes on.
        await handlers.mark_stale(tx.conn, command.user_id, ctx=ctx)
    return replace(lifted, lifted_by=command.admin_id, lifted_at=now)


async def standing(user_id: str, *, ctx: Identity) -> AccountStanding:
    """An account and its latest suspension."""
    async with ctx.uow.db.read() as conn:
        found = await store.user_by_id(conn, user_id)
        if found is None:
            raise handlers.no_user()
        latest = await suspension_store.latest_suspension(conn, user_id)
    return AccountStanding(found, latest)


async def in_force_among(user_ids: list[str], *, ctx: Identity) -> dict[str, Suspension]:
    """The suspensions in force now of those of these accounts that are suspended."""
    now = ctx.clock()
    async with ctx.uow.db.read() as conn:
        latest = await suspension_store.latest_suspensions(conn, user_ids)
    return {user_id: s for user_id, s in latest.items() if s.in_force(now)}
