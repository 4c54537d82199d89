"""Auction service: when a published sale was cancelled as a whole (null: it was not)."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sales published before cancellation existed were never cancelled.
    with op.batch_alter_table("auction_sales", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auction_sales", schema=None) as batch_op:
        batch_op.drop_column("cancelled_at")
