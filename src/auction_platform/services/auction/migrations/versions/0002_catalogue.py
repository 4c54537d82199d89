"""Auction service: lots, watchlist, bidders and ending-soon reminders."""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "auction_lots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("seller_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("images", sa.JSON, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("start_cents", sa.BigInteger, nullable=False),
        sa.Column("reserve_cents", sa.BigInteger, nullable=True),
        sa.Column("buy_now_cents", sa.BigInteger, nullable=True),
        sa.Column("increments", sa.JSON, nullable=False),
        _time("starts_at"),
        _time("scheduled_ends_at"),
        sa.Column("soft_window_seconds", sa.Integer, nullable=True),
        sa.Column("soft_extend_seconds", sa.Integer, nullable=True),
        sa.Column("soft_max_extensions", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("winner_id", sa.String(64), nullable=True),
        sa.Column("final_price_cents", sa.BigInteger, nullable=True),
        sa.Column("current_price_cents", sa.BigInteger, nullable=False),
        sa.Column("bid_count", sa.Integer, nullable=False),
        sa.Column("leader_id", sa.String(64), nullable=True),
        sa.Column("last_bid_seq", sa.BigInteger, nullable=False),
        sa.Column("extensions", sa.Integer, nullable=False),
        _time("ends_at"),
        sa.Column("cancelled_by", sa.String(16), nullable=True),
        _time("published_at", nullable=True),
        _time("opened_at", nullable=True),
        _time("closed_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
    )
    for name, columns in (
        ("ix_auction_lots_status_ends", ["status", "ends_at", "id"]),
        ("ix_auction_lots_status_price", ["status", "current_price_cents", "id"]),
        ("ix_auction_lots_status_created", ["status", "created_at", "id"]),
        ("ix_auction_lots_category", ["category", "status", "ends_at"]),
        ("ix_auction_lots_seller", ["seller_id", "created_at", "id"]),
    ):
        op.create_index(name, "auction_lots", columns)
    op.create_index(
        "ix_auction_lots_due",
        "auction_lots",
        ["starts_at"],
        postgresql_where=sa.text("status = 'scheduled'"),
        sqlite_where=sa.text("status = 'scheduled'"),
    )
    op.create_table(
        "auction_watchlist",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("auction_id", sa.String(32), sa.ForeignKey("auction_lots.id"), primary_key=True),
        _time("created_at"),
    )
    op.create_index("ix_auction_watchlist_auction", "auction_watchlist", ["auction_id"])
    op.create_index(
        "ix_auction_watchlist_user_created",
        "auction_watchlist",
        ["user_id", "created_at", "auction_id"],
    )
    op.create_table(
        "auction_participants",
        sa.Column("auction_id", sa.String(32), sa.ForeignKey("auction_lots.id"), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        _time("joined_at"),
    )
    op.create_table(
        "auction_reminders",
        sa.Column("auction_id", sa.String(32), sa.ForeignKey("auction_lots.id"), primary_key=True),
        sa.Column("minutes_left", sa.Integer, primary_key=True),
        _time("due_at"),
        _time("sent_at", nullable=True),
    )
    op.create_index(
        "ix_auction_reminders_due",
        "auction_reminders",
        ["due_at"],
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_auction_reminders_due", table_name="auction_reminders")
    op.drop_table("auction_reminders")
    op.drop_table("auction_participants")
    op.drop_index("ix_auction_watchlist_user_created", table_name="auction_watchlist")
    op.drop_index("ix_auction_watchlist_auction", table_name="auction_watchlist")
    op.drop_table("auction_watchlist")
    op.drop_index("ix_auction_lots_due", table_name="auction_lots")
    for name in (
        "ix_auction_lots_seller",
        "ix_auction_lots_category",
        "ix_auction_lots_status_created",
        "ix_auction_lots_status_price",
        "ix_auction_lots_status_ends",
    ):
        op.drop_index(name, table_name="auction_lots")
    op.drop_table("auction_lots")
