"""Payment service: how an order reaches its buyer (method, address, shipping, receipt).

Orders gain the listing's delivery terms as the order copied them, the buyer's
choice, its shipping cost and address, and the shipment and receipt; existing
orders cost no shipping and are pending. Each lot's terms, as its listing last
said, wait in ``payment_lot_delivery`` for the order.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SHIPPED = "fulfilment = 'shipped'"


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("delivery_terms", sa.Text(), nullable=True),
        sa.Column("delivery_method", sa.String(24), nullable=True),
        sa.Column("shipping_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("delivery_address", sa.Text(), nullable=True),
        sa.Column("fulfilment", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tracking_number", sa.String(100), nullable=True),
        sa.Column("carrier", sa.String(100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("payment_orders") as batch_op:
        for column in _columns():
            batch_op.add_column(column)
    op.create_index(
        "ix_payment_orders_shipped",
        "payment_orders",
        ["shipped_at"],
        postgresql_where=sa.text(SHIPPED),
        sqlite_where=sa.text(SHIPPED),
    )
    op.create_table(
        "payment_lot_delivery",
        sa.Column("auction_id", sa.String(64), primary_key=True),
        sa.Column("delivery", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payment_lot_delivery")
    op.drop_index("ix_payment_orders_shipped", table_name="payment_orders")
    with op.batch_alter_table("payment_orders") as batch_op:
        for column in reversed(_columns()):
            batch_op.drop_column(column.name)
