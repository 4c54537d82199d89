"""The audit trail: every operator action, told by the service that did it.

A service records an action in the transaction that makes it (``record``: one
``AuditRecorded`` event in its outbox), so an action and its record commit or roll
back together; the analytics service keeps every record in an append-only log that
admins read and export. ``actor_id`` is who acted (an admin, or ``"system"`` for a
job acting under a rule); ``target`` names what was acted on (``"user:<id>"``,
``"auction:<id>"``, ``"order:<id>"``, ``"payout:<id>"``, ``"report:<id>"``,
``"dispute:<id>"``, ``"category:<id>"``); ``action`` is a dotted name such as
``user.suspended``, ``user.roles_changed``, ``auction.cancelled``, ``order.refunded``,
``payout.held``; ``reason`` is the operator's words, when one was given.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from auction_platform.contracts.events import Envelope

AUDIT_RECORDED = "AuditRecorded"
SYSTEM = "system"


class AuditData(TypedDict):
    """One operator action."""

    actor_id: str
    action: str
    target: str
    reason: str | None
    details: dict[str, Any]
    at: str  # ISO 8601, UTC: when the action was taken


class _Emits(Protocol):
    def emit(self, event_type: str, data: dict[str, Any], *, version: int = 1) -> Envelope: ...


def record(
    tx: _Emits,
    *,
    actor_id: str,
    action: str,
    target: str,
    at: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> Envelope:
    """Record an operator action in the transaction that takes it."""
    data: AuditData = {
        "actor_id": actor_id,
        "action": action,
        "target": target,
        "reason": reason,
        "details": details or {},
        "at": at,
    }
    return tx.emit(AUDIT_RECORDED, dict(data))
