"""Settings read from the environment (and an optional ``.env``), validated at start-up.

The scheme of each URL selects the backend: ``sqlite+aiosqlite://`` or
``postgresql+asyncpg://`` for storage, ``memory://`` or ``redis://`` for the cache,
``memory://`` or ``amqp://`` for the broker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from enum import StrEnum
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from auction_platform.contracts.money import MAX_AMOUNT_CENTS

SERVICES = (
    "gateway",
    "identity",
    "auction",
    "bidding",
    "payment",
    "notification",
    "analytics",
    "web",
)
DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development

_DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
_CACHE_SCHEMES = ("memory", "redis", "rediss", "unix")
_BROKER_SCHEMES = ("memory", "amqp", "amqps")


class Environment(StrEnum):
    """Where the platform runs; only development accepts development secrets."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else ""


# Addresses and networks (``10.0.0.0/8``, ``192.0.2.7``, IPv6 alike), written as a
# comma-separated list in the environment (a JSON list is read too).
Networks = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every knob of the platform. Environment variables use the upper-case field name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("data")
    log_level: str = "INFO"
    log_json: bool = True

    # Backends. An empty DATABASE_URL means one SQLite file per service in data_dir;
    # <SERVICE>_DATABASE_URL (e.g. BIDDING_DATABASE_URL) overrides it for one service.
    database_url: str = ""
    redis_url: str = "memory://"
    rabbitmq_url: str = "memory://"
    rabbitmq_exchange: str = "auction.events"
    rabbitmq_queue_prefix: str = ""
    cache_prefix: str = "auction:"

    # Where the services are, for the gateway and for service-to-service calls. An
    # empty URL means "in this process" (the embedded mode).
    identity_url: str = ""
    auction_url: str = ""
    bidding_url: str = ""
    payment_url: str = ""
    notification_url: str = ""
    analytics_url: str = ""
    web_url: str = ""

    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)

    # Accounts and tokens.
    access_token_ttl_seconds: int = Field(default=600, ge=30, le=86_400)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    password_min_length: int = Field(default=10, ge=8, le=128)
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)

    # Gateway: rate limits (token buckets) and CORS.
    rate_limit_per_address: int = Field(default=600, ge=1)
    rate_limit_per_user: int = Field(default=600, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    auth_rate_limit_per_address: int = Field(default=30, ge=1)
    cors_origins: list[str] = []
    # Proxies whose X-Forwarded-For is believed: the ingress in front of the gateway,
    # the gateway and the site in front of the services. Empty: nobody's; the client
    # is the peer of the connection. With proxies, the client is the right-most
    # address of the header that is not one of them.
    trusted_proxies: Networks = []
    # Who besides loopback may read /metrics and /health/detail (Prometheus, the
    # operators' tools); the client address is the one resolved as above.
    internal_networks: Networks = []

    # Auctions: limits on what a seller may list, and the scheduler.
    auction_min_duration_seconds: int = Field(default=60, ge=1)
    auction_max_duration_days: int = Field(default=30, ge=1, le=365)
    auction_max_amount_cents: int = Field(default=MAX_AMOUNT_CENTS, ge=100, le=MAX_AMOUNT_CENTS)
    auction_max_images: int = Field(default=12, ge=0, le=50)
    # Photos sellers upload: kept in a directory (the embedded default: data_dir/photos
    # when PHOTO_DIR is empty) or in an S3-compatible bucket (PHOTO_STORE=s3).
    photo_store: Literal["directory", "s3"] = "directory"
    photo_dir: Path | None = None
    photo_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    s3_endpoint_url: str = ""  # empty: AWS itself
    s3_bucket: str = "auction-photos"
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    ending_soon_minutes: list[int] = [60, 15, 5]
    scheduler_interval_seconds: float = Field(default=0.25, gt=0, le=60)

    # Bidding: group commit, the closer and idempotency keys.
    bid_batch_max: int = Field(default=200, ge=1, le=10_000)
    # Batches in flight at once per process; each auction always goes to the same one.
    bid_batch_shards: int = Field(default=4, ge=1, le=64)
    # Load shedding, so that a bid's answer is true: beyond this many commands waiting
    # in a queue (besides the batch in flight), or once one has waited this long for
    # its batch, it is refused with 503 ``overloaded`` and Retry-After, not recorded.
    # The wait stays well below the gateway's 5 s limit for bids (a 504 would leave a
    # bidder guessing), leaving time for the batch's own transaction.
    bid_queue_max: int = Field(default=1_000, ge=1, le=100_000)
    bid_wait_budget_seconds: float = Field(default=2.5, gt=0, le=4.0)
    closer_interval_seconds: float = Field(default=0.25, gt=0, le=60)
    idempotency_ttl_hours: int = Field(default=24, ge=1)

    # Storage tuning.
    # QueuePool opens connections as they are needed and keeps up to ``db_pool_size``.
    # Overflow connections are closed as soon as they are returned: under steady load
    # above the pool size each checkout would open a new one (a PostgreSQL process and
    # a handshake), so the whole budget sits in the pool and the overflow is 0.
    db_pool_size: int = Field(default=15, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout: float = Field(default=5.0, gt=0, le=60)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    # Messaging tuning.
    broker_max_retries: int = Field(default=5, ge=0, le=100)
    broker_retry_delay: float = Field(default=0.5, ge=0, le=60)
    # A consumer whose dependency is down waits (unbounded in time, spending no retry):
    # the first wait, doubling up to the last.
    broker_outage_backoff: float = Field(default=0.5, gt=0, le=60)
    broker_outage_backoff_max: float = Field(default=30.0, gt=0, le=600)
    # Commits wake the relay at once; the poll only finds rows a stopped process left.
    outbox_poll_interval: float = Field(default=5.0, gt=0, le=60)
    outbox_batch_size: int = Field(default=100, ge=1, le=10_000)

    # Payment: provider, fees, deadlines.
    payment_provider: str = Field(default="sandbox", pattern="^(sandbox|stripe)$")
    stripe_api_key: SecretStr = SecretStr("")
    # The site's checkout mounts Stripe's Payment Element with this (public) key.
    stripe_publishable_key: str = ""
    # Several secrets are accepted at once while a webhook secret is rotated.
    stripe_webhook_secrets: list[SecretStr] = []
    stripe_api_base: str = "https://api.stripe.com"
    sandbox_webhook_secret: SecretStr = SecretStr("whsec_sandbox_development_only")
    buyers_premium_percent: float = Field(default=5.0, ge=0, le=50)
    seller_fee_percent: float = Field(default=10.0, ge=0, le=50)
    payment_due_days: float = Field(default=4, gt=0, le=60)
    payment_reminder_hours: list[int] = [24, 48]
    second_chance_due_days: float = Field(default=2, gt=0, le=60)
    # A shipped order's receipt is confirmed for the buyer this many days after shipment.
    receipt_confirm_days: float = Field(default=14, gt=0, le=365)

    # Notification: channels and providers.
    email_channel: str = Field(default="log", pattern="^(log|smtp)$")
    email_from: str = "Auction Platform <no-reply@auction-platform.local>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_tls: str = Field(default="starttls", pattern="^(none|starttls|tls)$")
    sms_channel: str = Field(default="log", pattern="^(log|twilio)$")
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = ""
    public_url: str = "http://127.0.0.1:8080"

    # Web: how long a page for visitors who are not signed in is kept (0: never).
    web_page_cache_seconds: float = Field(default=1.0, ge=0, le=60)

    # Analytics: search backend (PostgreSQL or SQLite full-text by default).
    elasticsearch_url: str = ""
    elasticsearch_index_prefix: str = "auction"
    # Shill-bidding signals: the days of bids and retractions the daily job weighs.
    shill_window_days: int = Field(default=30, ge=1, le=365)

    # Benchmarks: ``POST /diagnostics/noop`` on every service, the ceiling of the
    # server stack (token check, body parsing, middleware) with no work behind it.
    diagnostics: bool = False

    # HTTP.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    http_timeout: float = Field(default=10.0, gt=0, le=300)
    dependency_timeout: float = Field(default=2.0, gt=0, le=60)
    # WebSockets (the live feed): seconds between the server's pings; 0 sends none. A
    # ping finds a peer that vanished without closing (its connection and mailbox are
    # held until then) and keeps a quiet connection open through proxies that close
    # idle ones (the ingress: after 3600 s). Each ping and its pong cost the gateway
    # about 0.1 ms: every 20 s (uvicorn's default) 10,000 idle watchers took 70 ms of
    # CPU a second; every 30 min, under 1 ms.
    ws_ping_interval_seconds: float = Field(default=1800.0, ge=0, le=86_400)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if url and _scheme(url) not in _DATABASE_SCHEMES:
            schemes = ", ".join(s + "://" for s in _DATABASE_SCHEMES)
            raise ValueError(f"DATABASE_URL must start with one of {schemes}")
        return url

    @field_validator("redis_url")
    @classmethod
    def _known_cache(cls, url: str) -> str:
        if _scheme(url) not in _CACHE_SCHEMES:
            raise ValueError("REDIS_URL must be memory:// or redis://host:port/db")
        return url

    @field_validator("rabbitmq_url")
    @classmethod
    def _known_broker(cls, url: str) -> str:
        if _scheme(url) not in _BROKER_SCHEMES:
            raise ValueError(
                "RABBITMQ_URL must be memory:// or amqp://user:password@host:port/vhost"
            )
        return url

    @field_validator("trusted_proxies", "internal_networks", mode="before")
    @classmethod
    def _network_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies", "internal_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ip_network(value, strict=False)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not an IP address or network (such as 10.0.0.0/8)"
                ) from None
        return values

    @model_validator(mode="after")
    def _no_development_secrets_outside_development(self) -> Self:
        if self.environment is not Environment.DEVELOPMENT:
            if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
                raise ValueError(
                    "SECRET_KEY is still the development default; set a real secret "
                    f"when ENVIRONMENT={self.environment.value}"
                )
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("SECRET_KEY must be at least 32 characters outside development")
            # The sandbox's webhook secret is public: anyone could mark an order paid.
            if self.payment_provider == "sandbox":
                raise ValueError(
                    "PAYMENT_PROVIDER=sandbox is for development only; use stripe with "
                    "STRIPE_API_KEY and STRIPE_WEBHOOK_SECRETS"
                )
            if not self.stripe_api_key.get_secret_value() or not self.stripe_webhook_secrets:
                raise ValueError(
                    "PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRETS"
                )
        return self

    def database_url_for(self, service: str, *, overrides: dict[str, str] | None = None) -> str:
        """The database URL one service uses."""
        override = (overrides or {}).get(f"{service.upper()}_DATABASE_URL")
        if override:
            return self._known_database(override)
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / f'{service}.sqlite3'}"

    def derived_key(self, purpose: str) -> bytes:
        """A key for one purpose only, derived from ``SECRET_KEY`` (HMAC-SHA256 of its label).

        Each use gets its own key, so one leaking says nothing of the secret or the others.
        """
        secret = self.secret_key.get_secret_value().encode()
        return hmac.digest(secret, f"key:{purpose}".encode(), hashlib.sha256)

    def service_url(self, service: str) -> str:
        """The base URL of another service, or "" when it runs in this process."""
        return str(getattr(self, f"{service}_url", ""))
