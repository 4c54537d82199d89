"""Analytics service: the rollups (per auction, per day, per minute, per order)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COUNTERS = (
    "listed",
    "opened",
    "sold",
    "unsold",
    "cancelled",
    "bids",
    "closed_bids",
    "first_bids",
    "orders_created",
    "orders_paid",
    "orders_created_paid",
)


def upgrade() -> None:
    op.create_table(
        "analytics_auctions",
        sa.Column("auction_id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("seller_id", sa.String(64), nullable=True),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_bid_seq", sa.BigInteger, nullable=True),
        sa.Column("first_bid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_bid_seconds", sa.Float, nullable=True),
        sa.Column("bid_count", sa.Integer, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sold", sa.Boolean, nullable=True),
        sa.Column("hammer_cents", sa.BigInteger, nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "analytics_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("category", sa.String(40), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False) for name in COUNTERS),
        sa.Column("first_bid_seconds", sa.Float, nullable=False),
        sa.Column("gmv_cents", sa.BigInteger, nullable=False),
        sa.Column("fees_cents", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "analytics_bid_minutes",
        sa.Column("auction_id", sa.String(64), primary_key=True),
        sa.Column("minute", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("bids", sa.Integer, nullable=False),
    )
    op.create_table(
        "analytics_orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("auction_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fees_cents", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("analytics_orders")
    op.drop_table("analytics_bid_minutes")
    op.drop_table("analytics_daily")
    op.drop_table("analytics_auctions")
