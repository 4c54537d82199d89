"""Alembic environment of the bidding service."""

from auction_platform.core.migrate import run_migrations
from auction_platform.services.bidding.store import TABLES

run_migrations(TABLES.metadata)
