"""Auction service: lots that start when published (and run for a duration), relisting."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        # sa.false() renders as false on PostgreSQL and 0 on SQLite.
        batch_op.add_column(
            sa.Column(
                "starts_when_published", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(sa.Column("duration_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("relisted_from", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("relisted_as", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        batch_op.drop_column("relisted_as")
        batch_op.drop_column("relisted_from")
        batch_op.drop_column("duration_seconds")
        batch_op.drop_column("starts_when_published")
