"""Alembic environment of the analytics service."""

from auction_platform.core.migrate import run_migrations
from auction_platform.services.analytics.store import TABLES

run_migrations(TABLES.metadata)
