"""Auction service: outbox and inbox."""

from auction_platform.core.migrate import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables("auction")


def downgrade() -> None:
    drop_messaging_tables("auction")
