"""Analytics service: shill-bidding signals flagged for review.

Each account's signup fingerprints (from ``UserRegistered``), the flags of the daily
job with their evidence and review, and the days the job ran (one replica a day).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_signup_signals",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "analytics_shill_flags",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("bidder_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("analytics_shill_flags") as batch_op:
        batch_op.create_index("ix_analytics_shill_flags_status", ["status", "day"], unique=False)
        batch_op.create_index(
            "ix_analytics_shill_flags_subject", ["kind", "bidder_id", "day"], unique=False
        )
    op.create_table(
        "analytics_shill_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("analytics_shill_runs")
    with op.batch_alter_table("analytics_shill_flags") as batch_op:
        batch_op.drop_index("ix_analytics_shill_flags_subject")
        batch_op.drop_index("ix_analytics_shill_flags_status")
    op.drop_table("analytics_shill_flags")
    op.drop_table("analytics_signup_signals")
