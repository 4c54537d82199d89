"""The notification service: stateless consumers sending email and SMS (RabbitMQ).

It has no database, so its consumers are ``StatelessConsumer``s (no transaction,
no inbox row): a redelivered event is deduped per notice by the sent log (see
``dedupe``). Replicas share the queues, so scaling is adding
replicas. Channels come from the settings: ``EMAIL_CHANNEL`` ``log`` or
``smtp``, ``SMS_CHANNEL`` ``log`` or ``twilio``; ``log`` is the default.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import Counter

from auction_platform.contracts.events import Envelope
from auction_platform.core.context import reset_request_id, set_request_id
from auction_platform.core.health import Check
from auction_platform.core.service import ServiceDefinition, ServiceRuntime, StatelessConsumer
from auction_platform.services.notification.channels import (
    EmailChannel,
    LogEmail,
    LogSms,
    SmsChannel,
)
from auction_platform.services.notification.contacts import Contacts
from auction_platform.services.notification.dedupe import CacheSentLog, MemorySentLog, SentLog
from auction_platform.services.notification.dispatch import Notifier
from auction_platform.services.notification.mail import SmtpEmail
from auction_platform.services.notification.notices import SUBSCRIPTIONS, Subscription
from auction_platform.services.notification.render import Templates
from auction_platform.services.notification.sms import TwilioSms

log = logging.getLogger("auction_platform.notification")


def build_context(runtime: ServiceRuntime[Notifier]) -> Notifier:
    """Build the notifier from the settings."""
    settings = runtime.settings
    email: EmailChannel = LogEmail()
    if settings.email_channel == "smtp":
        email = SmtpEmail(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            sender=settings.email_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            timeout=settings.http_timeout,
            check_timeout=settings.dependency_timeout,
        )
    sms: SmsChannel = LogSms()
    if settings.sms_channel == "twilio":
        sms = TwilioSms(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            sender=settings.twilio_from,
            timeout=settings.http_timeout,
        )
    # Shared by every replica when the service has the platform cache; else per process.
    cache = runtime.cache
    sent_log: SentLog = CacheSentLog(cache) if cache is not None else MemorySentLog()
    counter = Counter(
        "notifications_total",
        "Notices by channel, kind and outcome (sent, duplicate, opted_out, failed, ...)",
        ["channel", "kind", "outcome"],
        registry=runtime.metrics.registry,
    )
    return Notifier(
        templates=Templates(public_url=settings.public_url),
        # identity's client is attached by the composition root before the context.
        contacts=Contacts(
            lambda: runtime.clients["identity-auth"], auth_headers=runtime.auth_headers
        ),
        email=email,
        sms=sms,
        sent_log=sent_log,
        counter=counter,
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
        except Exception:
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


def checks(runtime: ServiceRuntime[Notifier]) -> Sequence[Check]:
    """The providers, non-critical: without them notices wait in the queues."""
    sender = runtime.context
    return [
        Check("email", sender.email.check, critical=False),
        Check("sms", sender.sms.check, critical=False),
    ]


async def shutdown(runtime: ServiceRuntime[Notifier]) -> None:
    """Close the providers' connections once the service has stopped consuming."""
    await runtime.context.close()


DEFINITION = ServiceDefinition[Notifier](
    name="notification",
    context=build_context,
    uses_broker=True,
    critical=frozenset({"rabbitmq"}),
    consumers=consumers,
    checks=checks,
    shutdown=shutdown,
)
