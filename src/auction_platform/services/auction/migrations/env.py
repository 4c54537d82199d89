"""Alembic environment of the auction service."""

from auction_platform.core.migrate import run_migrations
from auction_platform.services.auction.store import TABLES

run_migrations(TABLES.metadata)
