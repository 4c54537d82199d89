"""The notification service: stateless consumers sending email and SMS (RabbitMQ).

Replicas share the queues (``consumers``), so scaling is adding replicas.
Channels come from the settings: ``EMAIL_CHANNEL`` ``log`` or ``smtp``,
``SMS_CHANNEL`` ``log`` or ``twilio``; ``log`` is the default. Identity is asked
for contacts through ``ports.HttpContacts``.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from auction_platform.core.health import Check
from auction_platform.core.service import ServiceDefinition, ServiceRuntime
from auction_platform.services.notification import consumers
from auction_platform.services.notification.channels import (
    EmailChannel,
    LogEmail,
    LogSms,
    SmsChannel,
)
from auction_platform.services.notification.dedupe import CacheSentLog, MemorySentLog, SentLog
from auction_platform.services.notification.dispatch import Notifier
from auction_platform.services.notification.mail import SmtpEmail
from auction_platform.services.notification.ports import HttpContacts
from auction_platform.services.notification.render import Templates
from auction_platform.services.notification.sms import TwilioSms


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
        contacts=HttpContacts(
            lambda: runtime.clients["identity-auth"], auth_headers=runtime.auth_headers
        ),
        email=email,
        sms=sms,
        sent_log=sent_log,
        counter=counter,
    )


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
    consumers=consumers.consumers,
    checks=checks,
    shutdown=shutdown,
)
