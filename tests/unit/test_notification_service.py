"""The service's wiring: channels chosen by the settings, its checks, its queues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auction_platform.core.metrics import Metrics
from auction_platform.core.service import ServiceRuntime, dependency_checks
from auction_platform.services.notification.channels import LogEmail, LogSms
from auction_platform.services.notification.consumers import SUBSCRIPTIONS, queue_name
from auction_platform.services.notification.dedupe import MemorySentLog
from auction_platform.services.notification.dispatch import Notifier
from auction_platform.services.notification.mail import SmtpEmail
from auction_platform.services.notification.service import DEFINITION
from auction_platform.services.notification.sms import TwilioSms
from support.platforms import embedded_settings


def runtime(tmp_path: Path, **overrides: Any) -> ServiceRuntime[Notifier]:
    settings = embedded_settings(tmp_path, **overrides)
    built = ServiceRuntime(definition=DEFINITION, settings=settings, metrics=Metrics())
    built.build_context()
    return built


def notifier(built: ServiceRuntime[Notifier]) -> Notifier:
    return built.context


def test_the_log_channels_are_the_default(tmp_path: Path) -> None:
    sender = notifier(runtime(tmp_path))
    assert isinstance(sender.email, LogEmail)
    assert isinstance(sender.sms, LogSms)
    assert isinstance(sender.sent_log, MemorySentLog)  # no cache: in-process dedupe


async def test_smtp_and_twilio_are_chosen_by_the_settings(tmp_path: Path) -> None:
    sender = notifier(
        runtime(
            tmp_path,
            email_channel="smtp",
            smtp_host="mail.example.com",
            smtp_port=465,
            smtp_tls="tls",
            sms_channel="twilio",
            twilio_account_sid="AC123",
            twilio_auth_token="secret",
            twilio_from="+15005550006",
            public_url="https://auctions.example.com/",
        )
    )
    assert isinstance(sender.email, SmtpEmail)
    assert (sender.email.host, sender.email.port, sender.email.tls) == (
        "mail.example.com",
        465,
        "tls",
    )
    assert isinstance(sender.sms, TwilioSms)
    assert sender.templates.link("auctions") == "https://auctions.example.com/auctions"
    await sender.close()


def test_rabbitmq_is_critical_and_the_providers_are_not(tmp_path: Path) -> None:
    checks = {c.name: c.critical for c in dependency_checks(runtime(tmp_path))}
    assert checks == {"email": False, "sms": False}  # no broker in this bare runtime
    assert DEFINITION.critical == frozenset({"rabbitmq"})
    assert DEFINITION.uses_broker and not DEFINITION.uses_database


def test_each_kind_of_news_has_its_own_queue() -> None:
    names = [queue_name(s) for s in SUBSCRIPTIONS]
    assert len(set(names)) == len(names)
    assert all(name.startswith("notification.") for name in names)


async def test_every_subscription_is_a_consumer_of_its_own_queue(tmp_path: Path) -> None:
    declared = DEFINITION.consumers(runtime(tmp_path))
    assert [(c.name, c.patterns) for c in declared] == [(s.name, s.patterns) for s in SUBSCRIPTIONS]
    assert len({c.name for c in declared}) == len(SUBSCRIPTIONS)
