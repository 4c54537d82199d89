"""Payment service: orders, payment reminders, second-chance offers, webhook events."""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _partial_index(name: str, table: str, column: str, where: str) -> None:
    op.create_index(
        name, table, [column], postgresql_where=sa.text(where), sqlite_where=sa.text(where)
    )


def upgrade() -> None:
    op.create_table(
        "payment_orders",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("auction_id", sa.String(64), nullable=False),
        sa.Column("second_chance", sa.Boolean, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("seller_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("hammer_cents", sa.BigInteger, nullable=False),
        sa.Column("buyers_premium_percent", sa.String(16), nullable=False),
        sa.Column("buyers_premium_cents", sa.BigInteger, nullable=False),
        sa.Column("seller_fee_percent", sa.String(16), nullable=False),
        sa.Column("seller_fee_cents", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        _time("due_at"),
        sa.Column("runner_up_id", sa.String(64), nullable=True),
        sa.Column("runner_up_max_cents", sa.BigInteger, nullable=True),
        sa.Column("payment_intent_id", sa.String(255), nullable=True, unique=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_failure", sa.String(200), nullable=True),
        sa.Column("paid_cents", sa.BigInteger, nullable=True),
        _time("paid_at", nullable=True),
        _time("expired_at", nullable=True),
        sa.Column("refunded_cents", sa.BigInteger, nullable=False),
        _time("refunded_at", nullable=True),
        sa.Column("refund_due", sa.Boolean, nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.UniqueConstraint("auction_id", "second_chance", name="uq_payment_orders_auction"),
    )
    op.create_index("ix_payment_orders_buyer", "payment_orders", ["buyer_id", "created_at", "id"])
    op.create_index("ix_payment_orders_seller", "payment_orders", ["seller_id", "created_at", "id"])
    _partial_index(
        "ix_payment_orders_due", "payment_orders", "due_at", "status = 'awaiting_payment'"
    )
    op.create_table(
        "payment_reminders",
        sa.Column("order_id", sa.String(32), sa.ForeignKey("payment_orders.id"), primary_key=True),
        sa.Column("hours_after", sa.Integer, primary_key=True),
        _time("due_at"),
        _time("sent_at", nullable=True),
    )
    _partial_index("ix_payment_reminders_due", "payment_reminders", "due_at", "sent_at IS NULL")
    op.create_table(
        "payment_offers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("auction_id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "from_order_id", sa.String(32), sa.ForeignKey("payment_orders.id"), nullable=False
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("seller_id", sa.String(64), nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _time("due_at"),
        sa.Column("order_id", sa.String(32), nullable=True),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_index("ix_payment_offers_user", "payment_offers", ["user_id", "created_at", "id"])
    _partial_index("ix_payment_offers_due", "payment_offers", "due_at", "status = 'offered'")
    op.create_table(
        "payment_webhook_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        _time("received_at"),
    )


def downgrade() -> None:
    op.drop_table("payment_webhook_events")
    op.drop_index("ix_payment_offers_due", table_name="payment_offers")
    op.drop_index("ix_payment_offers_user", table_name="payment_offers")
    op.drop_table("payment_offers")
    op.drop_index("ix_payment_reminders_due", table_name="payment_reminders")
    op.drop_table("payment_reminders")
    op.drop_index("ix_payment_orders_due", table_name="payment_orders")
    op.drop_index("ix_payment_orders_seller", table_name="payment_orders")
    op.drop_index("ix_payment_orders_buyer", table_name="payment_orders")
    op.drop_table("payment_orders")
