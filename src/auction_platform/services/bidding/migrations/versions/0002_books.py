"""Bidding service: books, the bid ledger and idempotency keys."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bidding_books",
        sa.Column("auction_id", sa.String(64), primary_key=True),
        sa.Column("seller_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("leader_id", sa.String(64), nullable=True),
        sa.Column("bid_count", sa.Integer, nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bidding_books_due", "bidding_books", ["status", "ends_at"])
    op.create_table(
        "bidding_bids",
        sa.Column("auction_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("bidder_id", sa.String(64), nullable=False),
        sa.Column("max_cents", sa.BigInteger, nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("leader_id", sa.String(64), nullable=True),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_bidding_bids_bidder", "bidding_bids", ["bidder_id"])
    op.create_table(
        "bidding_idempotency",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bidding_idempotency_created", "bidding_idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_bidding_idempotency_created", table_name="bidding_idempotency")
    op.drop_table("bidding_idempotency")
    op.drop_index("ix_bidding_bids_bidder", table_name="bidding_bids")
    op.drop_table("bidding_bids")
    op.drop_index("ix_bidding_books_due", table_name="bidding_books")
    op.drop_table("bidding_books")
