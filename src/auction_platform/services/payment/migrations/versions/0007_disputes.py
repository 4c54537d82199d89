"""Payment service: disputes on paid orders and their messages.

One dispute per order (its buyer opens it within 30 days of paying), and its
thread: the parties' and admins' messages, the refunds made and the decision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_disputes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "order_id",
            sa.String(32),
            sa.ForeignKey("payment_orders.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("seller_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decision_reason", sa.String(500), nullable=True),
        sa.Column("refunds", sa.Integer(), nullable=False),
        sa.Column("pending_refund_cents", sa.Integer(), nullable=True),
        sa.Column("pending_refund_base", sa.Integer(), nullable=True),
    )
    op.create_index("ix_payment_disputes_status", "payment_disputes", ["status", "opened_at"])
    op.create_table(
        "payment_dispute_messages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "dispute_id", sa.String(32), sa.ForeignKey("payment_disputes.id"), nullable=False
        ),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("author_role", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_payment_dispute_messages_thread",
        "payment_dispute_messages",
        ["dispute_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_payment_dispute_messages_thread", table_name="payment_dispute_messages")
    op.drop_table("payment_dispute_messages")
    op.drop_index("ix_payment_disputes_status", table_name="payment_disputes")
    op.drop_table("payment_disputes")
