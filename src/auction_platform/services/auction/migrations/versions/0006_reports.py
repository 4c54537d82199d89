"""Auction service: users' reports of listings and users, and their moderation."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN_ONLY = "status = 'open'"


def upgrade() -> None:
    op.create_table(
        "auction_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reporter_id", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_auction_reports_open",
        "auction_reports",
        ["reporter_id", "target_type", "target_id"],
        unique=True,
        postgresql_where=sa.text(OPEN_ONLY),
        sqlite_where=sa.text(OPEN_ONLY),
    )
    op.create_index(
        "ix_auction_reports_target", "auction_reports", ["target_type", "target_id", "status"]
    )
    op.create_index("ix_auction_reports_status", "auction_reports", ["status", "created_at"])
    op.create_index("ix_auction_reports_reporter", "auction_reports", ["reporter_id", "created_at"])


def downgrade() -> None:
    op.drop_table("auction_reports")
