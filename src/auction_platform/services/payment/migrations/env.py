"""Alembic environment of the payment service."""

from auction_platform.core.migrate import run_migrations
from auction_platform.services.payment.store import TABLES

run_migrations(TABLES.metadata)
