"""Analytics service: refunds in the rollups.

The daily counters gain the refunds of each day (how many, the money given back,
and the GMV and fees they took back); existing days had none, so they start at 0
(a server default that is dropped again: the store writes every counter itself).
Orders gain their hammer and their refund, and an index by auction for the
auction report.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DAILY = (
    ("refunds", sa.Integer()),
    ("refunded_cents", sa.BigInteger()),
    ("refunded_gmv_cents", sa.BigInteger()),
    ("refunded_fees_cents", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("analytics_daily") as batch_op:
        for name, kind in DAILY:
            batch_op.add_column(sa.Column(name, kind, nullable=False, server_default="0"))
    with op.batch_alter_table("analytics_daily") as batch_op:
        for name, _ in DAILY:
            batch_op.alter_column(name, server_default=None)

    with op.batch_alter_table("analytics_orders") as batch_op:
        batch_op.add_column(sa.Column("hammer_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("refunded_cents", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_analytics_orders_auction", ["auction_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analytics_orders") as batch_op:
        batch_op.drop_index("ix_analytics_orders_auction")
        batch_op.drop_column("refunded_cents")
        batch_op.drop_column("refunded_at")
        batch_op.drop_column("hammer_cents")

    with op.batch_alter_table("analytics_daily") as batch_op:
        for name, _ in reversed(DAILY):
            batch_op.drop_column(name)
