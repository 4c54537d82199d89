"""Which events the notification service takes: one queue per kind of news.

A backlog or a poison event of one kind never delays the others, and each queue's
depth says what is waiting. Each subscription names its queue, the routing keys it
binds and the translation of its events into notices (``notices``, pure). The
service has no database, so its consumers are ``StatelessConsumer``s: no
transaction, no inbox row; a redelivered event is deduped per notice by the sent
log (``dedupe``). A failed notice raises, so the broker redelivers the event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from auction_platform.contracts import auctions, identity, payments
from auction_platform.contracts.events import Envelope
from auction_platform.core.context import reset_request_id, set_request_id
from auction_platform.core.outages import dependency_down
from auction_platform.core.service import ServiceRuntime, StatelessConsumer
from auction_platform.services.notification.dispatch import Notifier
from auction_platform.services.notification.notices import (
    Notice,
    account_reinstated,
    account_suspended,
    auction_cancelled,
    auction_closed,
    by_type,
    delivery,
    dispute,
    ending_soon,
    feedback_left,
    outbid,
    payment_due,
    payment_failed,
    payment_received,
    payout_sent,
    refunded,
    report_resolved,
    second_chance,
    welcome,
)

log = logging.getLogger("auction_platform.notification")

Translate = Callable[[Envelope], list[Notice]]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A consumer of the notification service: its queue, routing keys and translation."""

    name: str
    patterns: tuple[str, ...]
    notices: Translate


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("outbid", (f"bidding.{auctions.OUTBID}",), outbid),
    Subscription("ending_soon", (f"auction.{auctions.AUCTION_ENDING_SOON}",), ending_soon),
    Subscription("auction_closed", (f"bidding.{auctions.AUCTION_CLOSED}",), auction_closed),
    Subscription(
        "auction_cancelled", (f"auction.{auctions.AUCTION_CANCELLED}",), auction_cancelled
    ),
    Subscription(
        "payment_due",
        (f"payment.{payments.ORDER_CREATED}", f"payment.{payments.PAYMENT_REMINDER}"),
        payment_due,
    ),
    Subscription("payment_failed", (f"payment.{payments.PAYMENT_FAILED}",), payment_failed),
    Subscription("payment_received", (f"payment.{payments.ORDER_PAID}",), payment_received),
    Subscription("refunded", (f"payment.{payments.ORDER_REFUNDED}",), refunded),
    Subscription(
        "delivery",
        (f"payment.{payments.ORDER_SHIPPED}", f"payment.{payments.ORDER_RECEIVED}"),
        delivery,
    ),
    Subscription("payouts", (f"payment.{payments.PAYOUT_SENT}",), payout_sent),
    Subscription("second_chance", (f"payment.{payments.SECOND_CHANCE_OFFERED}",), second_chance),
    Subscription("feedback", (f"payment.{payments.FEEDBACK_LEFT}",), feedback_left),
    Subscription(
        "disputes",
        (
            f"payment.{payments.DISPUTE_OPENED}",
            f"payment.{payments.DISPUTE_MESSAGE}",
            f"payment.{payments.DISPUTE_RESOLVED}",
        ),
        dispute,
    ),
    Subscription(
        "account",
        (
            f"identity.{identity.USER_REGISTERED}",
            f"identity.{identity.USER_SUSPENDED}",
            f"identity.{identity.USER_REINSTATED}",
        ),
        by_type(
            {
                identity.USER_REGISTERED: welcome,
                identity.USER_SUSPENDED: account_suspended,
                identity.USER_REINSTATED: account_reinstated,
            }
        ),
    ),
    Subscription("reports", (f"auction.{auctions.REPORT_RESOLVED}",), report_resolved),
)


def consumers(runtime: ServiceRuntime[Notifier]) -> list[StatelessConsumer]:
    """One consumer per queue of the service (replicas share them)."""
    return [StatelessConsumer(s.name, s.patterns, deliver_to(runtime, s)) for s in SUBSCRIPTIONS]


def queue_name(subscription: Subscription) -> str:
    """The queue of a subscription, without the deployment's prefix."""
    return f"notification.{subscription.name}"


def deliver_to(
    runtime: ServiceRuntime[Notifier], subscription: Subscription
) -> Callable[[Envelope], Awaitable[None]]:
    """The broker handler of one queue: notify, count, and raise to have it retried."""
    counter = runtime.metrics.events_consumed
    sender = runtime.context

    async def deliver(envelope: Envelope) -> None:
        token = set_request_id(envelope.correlation_id or envelope.id)
        try:
            report = await sender.notify(envelope, subscription.notices(envelope))
            outcome = "duplicate" if report.repeated else "handled"
            counter.labels(runtime.name, subscription.name, outcome).inc()
        except Exception as exc:
            if dependency_down(exc):  # the broker pauses the queue and logs it
                counter.labels(runtime.name, subscription.name, "unavailable").inc()
                raise
            counter.labels(runtime.name, subscription.name, "failed").inc()
            log.exception(
                "consumer %s failed on event %s (%s); it will be retried",
                subscription.name,
                envelope.id,
                envelope.type,
            )
            raise
        finally:
            reset_request_id(token)

    return deliver
