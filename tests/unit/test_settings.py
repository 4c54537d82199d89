"""Settings: URL schemes select backends; development secrets stay in development."""

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from auction_platform.contracts.routes import route_for
from auction_platform.settings import Environment, Settings


def test_defaults_are_the_embedded_backends() -> None:
    settings = Settings(_env_file=None)
    assert settings.redis_url == "memory://"
    assert settings.rabbitmq_url == "memory://"
    assert settings.database_url_for("bidding").startswith("sqlite+aiosqlite:///")


@pytest.mark.parametrize("environment", [Environment.PRODUCTION, Environment.TEST])
def test_development_secret_is_refused_outside_development(environment: Environment) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY is still the development default"):
        Settings(_env_file=None, environment=environment)


def test_short_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(
            _env_file=None,
            environment=Environment.PRODUCTION,
            secret_key=SecretStr("short"),
            **PRODUCTION_PAYMENTS,
        )


PRODUCTION_PAYMENTS = {
    "payment_provider": "stripe",
    "stripe_api_key": SecretStr("sk_live_x"),
    "stripe_webhook_secrets": [SecretStr("whsec_x")],
}


def test_a_real_secret_is_accepted_in_production() -> None:
    settings = Settings(
        _env_file=None,
        environment=Environment.PRODUCTION,
        secret_key=SecretStr("x" * 40),
        **PRODUCTION_PAYMENTS,
    )
    assert settings.environment is Environment.PRODUCTION


def test_the_payment_sandbox_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="sandbox is for development only"):
        Settings(_env_file=None, environment=Environment.PRODUCTION, secret_key=SecretStr("x" * 40))


def test_stripe_without_keys_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="needs STRIPE_API_KEY"):
        Settings(
            _env_file=None,
            environment=Environment.PRODUCTION,
            secret_key=SecretStr("x" * 40),
            payment_provider="stripe",
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database_url", "mysql://localhost/db", "DATABASE_URL must start with"),
        ("redis_url", "memcached://localhost", "REDIS_URL must be"),
        ("rabbitmq_url", "kafka://localhost", "RABBITMQ_URL must be"),
    ],
)
def test_unknown_backend_schemes_are_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **{field: value})


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    settings = Settings(_env_file=None)
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.db_pool_size == 7


def test_one_service_can_have_its_own_database() -> None:
    settings = Settings(_env_file=None, database_url="postgresql+asyncpg://db/shared")
    overrides = {"BIDDING_DATABASE_URL": "postgresql+asyncpg://db/bids"}
    assert (
        settings.database_url_for("bidding", overrides=overrides) == "postgresql+asyncpg://db/bids"
    )
    assert settings.database_url_for("auction", overrides=overrides) == (
        "postgresql+asyncpg://db/shared"
    )


def test_embedded_databases_are_one_file_per_service_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.database_url_for("auction") == f"sqlite+aiosqlite:///{tmp_path}/auction.sqlite3"


def test_a_bid_is_shed_well_before_the_gateway_gives_up_on_it() -> None:
    route = route_for("/api/v1/auctions/a1/bids")
    assert route is not None and route.timeout is not None

    # The longest a bid waits for its batch leaves the batch half the gateway's limit,
    assert Settings(_env_file=None).bid_wait_budget_seconds <= route.timeout / 2
    # and no setting lets it wait until the gateway has given up.
    with pytest.raises(ValidationError):
        Settings(_env_file=None, bid_wait_budget_seconds=route.timeout)
