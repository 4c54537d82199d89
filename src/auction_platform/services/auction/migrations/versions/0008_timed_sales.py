"""Auction service: timed sales, their lots in order, and the sale a lot is sold in."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auction_sales",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_close_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("lot_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_auction_sales_status_first_close",
        "auction_sales",
        ["status", "first_close_at", "id"],
    )
    op.create_index("ix_auction_sales_seller", "auction_sales", ["seller_id", "created_at", "id"])
    op.create_table(
        "auction_sale_lots",
        sa.Column("sale_id", sa.String(length=32), nullable=False),
        sa.Column("lot_number", sa.Integer(), nullable=False),
        sa.Column("auction_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["sale_id"], ["auction_sales.id"]),
        sa.ForeignKeyConstraint(["auction_id"], ["auction_lots.id"]),
        sa.PrimaryKeyConstraint("sale_id", "lot_number"),
    )
    op.create_index(
        "ux_auction_sale_lots_auction", "auction_sale_lots", ["auction_id"], unique=True
    )
    # Lots listed before there were sales are in none.
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sale_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        batch_op.drop_column("sale_id")
    op.drop_table("auction_sale_lots")
    op.drop_table("auction_sales")
