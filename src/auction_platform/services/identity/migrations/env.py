"""Alembic environment of the identity service."""

from auction_platform.core.migrate import run_migrations
from auction_platform.services.identity.store import TABLES

run_migrations(TABLES.metadata)
