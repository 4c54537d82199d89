"""Payment service: answers recorded for an Idempotency-Key on ``POST /orders/{id}/pay``."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_idempotency",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_index("ix_payment_idempotency_created", "payment_idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_payment_idempotency_created", table_name="payment_idempotency")
    op.drop_table("payment_idempotency")
