"""Auction service: how a lot is sold (its format) and a Dutch lot's clock."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Lots listed before there were formats are English auctions, without a clock.
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("format", sa.String(length=24), server_default="english", nullable=False)
        )
        batch_op.add_column(sa.Column("dutch", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        batch_op.drop_column("dutch")
        batch_op.drop_column("format")
