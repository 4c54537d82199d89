"""Analytics service: the sale format in search and in the rollups.

The search documents, the auctions' facts and the orders gain the lot's ``format``
(every existing row was sold the only way there was: ``english``, the column's
server default) and the documents a Dutch lot's clock (``dutch``, JSON). The columns
are added in place on both databases: SQLite adds a column with a constant default
without rebuilding the table, which would drop the FTS5 triggers of 0004.

A second table of daily counters, keyed by day, format and currency, starts with
the figures already counted (summed over categories, all English), so its totals
match the category table's from the first day on. Every document's version moves
on, so an external index (Elasticsearch) is fed each one again with its format.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
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
    "refunds",
)
MONEY = ("gmv_cents", "fees_cents", "refunded_cents", "refunded_gmv_cents", "refunded_fees_cents")
SUMMED = (*COUNTERS, "first_bid_seconds", *MONEY)
FORMAT_TABLES = ("analytics_search_docs", "analytics_auctions", "analytics_orders")


def upgrade() -> None:
    for table in FORMAT_TABLES:
        op.add_column(
            table, sa.Column("format", sa.String(24), nullable=False, server_default="english")
        )
    op.add_column("analytics_search_docs", sa.Column("dutch", sa.JSON(), nullable=True))
    op.execute("UPDATE analytics_search_docs SET version = version + 1")

    op.create_table(
        "analytics_daily_formats",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("format", sa.String(24), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.Column("first_bid_seconds", sa.Float(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in MONEY),
    )
    daily = sa.table("analytics_daily", *(sa.column(name) for name in ("day", "currency", *SUMMED)))
    by_format = sa.table(
        "analytics_daily_formats",
        *(sa.column(name) for name in ("day", "format", "currency", *SUMMED)),
    )
    summed = sa.select(
        daily.c.day,
        sa.literal("english"),
        daily.c.currency,
        *(sa.func.sum(daily.c[name]) for name in SUMMED),
    ).group_by(daily.c.day, daily.c.currency)
    op.execute(by_format.insert().from_select(["day", "format", "currency", *SUMMED], summed))


def downgrade() -> None:
    op.drop_table("analytics_daily_formats")
    op.drop_column("analytics_search_docs", "dutch")
    for table in reversed(FORMAT_TABLES):
        op.drop_column(table, "format")
