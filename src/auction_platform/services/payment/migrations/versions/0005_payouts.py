"""Payment service: the seller ledger and payouts."""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "payment_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("seller_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        _time("created_at"),
        sa.UniqueConstraint("order_id", "kind", "ref", name="uq_payment_ledger_entry"),
    )
    op.create_index("ix_payment_ledger_seller", "payment_ledger", ["seller_id", "currency"])
    op.create_table(
        "payment_payouts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("order_id", sa.String(32), nullable=False, unique=True),
        sa.Column("seller_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("hold_reason", sa.String(500), nullable=True),
        sa.Column("transfer_id", sa.String(255), nullable=True),
        sa.Column("failure", sa.String(200), nullable=True),
        _time("paid_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_index(
        "ix_payment_payouts_seller", "payment_payouts", ["seller_id", "created_at", "id"]
    )
    due = "status IN ('pending', 'sending')"
    op.create_index(
        "ix_payment_payouts_due",
        "payment_payouts",
        ["updated_at"],
        postgresql_where=sa.text(due),
        sqlite_where=sa.text(due),
    )
    op.create_table(
        "payment_payout_accounts",
        sa.Column("seller_id", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False, unique=True),
        sa.Column("payouts_enabled", sa.Boolean, nullable=False),
        _time("created_at"),
        _time("updated_at"),
    )


def downgrade() -> None:
    op.drop_table("payment_payout_accounts")
    op.drop_index("ix_payment_payouts_due", table_name="payment_payouts")
    op.drop_index("ix_payment_payouts_seller", table_name="payment_payouts")
    op.drop_table("payment_payouts")
    op.drop_index("ix_payment_ledger_seller", table_name="payment_ledger")
    op.drop_table("payment_ledger")
