"""Payment service: buyers' and sellers' feedback on orders.

One row per order and side (the buyer's rating of the seller, the seller's of the
buyer), read by the rated member's profile newest first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_feedback",
        sa.Column("order_id", sa.String(32), sa.ForeignKey("payment_orders.id"), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("rater_id", sa.String(64), nullable=False),
        sa.Column("ratee_id", sa.String(64), nullable=False),
        sa.Column("auction_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("comment", sa.String(500), nullable=False),
        sa.Column("edits", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "side"),
    )
    op.create_index(
        "ix_payment_feedback_ratee", "payment_feedback", ["ratee_id", "created_at", "order_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_payment_feedback_ratee", table_name="payment_feedback")
    op.drop_table("payment_feedback")
