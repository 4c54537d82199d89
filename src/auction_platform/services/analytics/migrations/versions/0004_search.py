"""Analytics service: the search documents and their full-text index.

The table is the same on both databases, and holds the title and description
also without accents (folded in Python, ``search_query.fold``), which is what both
full-text indexes read. The index itself differs:

- PostgreSQL: a generated ``tsvector`` column (title weighted A, description B,
  English stemming) with a GIN index, queried with ``websearch_to_tsquery``.
- SQLite: an external-content FTS5 table over the folded columns (Porter
  stemming, Unicode case and diacritic folding) kept in step by triggers.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PENDING = sa.text("version > indexed_version")

_POSTGRES = (
    """
    ALTER TABLE analytics_search_docs ADD COLUMN document tsvector
    GENERATED ALWAYS AS (
        setweight(to_tsvector('english', folded_title), 'A')
        || setweight(to_tsvector('english', folded_description), 'B')
    ) STORED
    """,
    "CREATE INDEX ix_analytics_search_docs_document ON analytics_search_docs USING gin (document)",
)

_SQLITE = (
    """
    CREATE VIRTUAL TABLE analytics_search_fts USING fts5(
        folded_title, folded_description,
        content='analytics_search_docs', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER analytics_search_docs_ai AFTER INSERT ON analytics_search_docs BEGIN
        INSERT INTO analytics_search_fts (rowid, folded_title, folded_description)
        VALUES (new.id, new.folded_title, new.folded_description);
    END
    """,
    """
    CREATE TRIGGER analytics_search_docs_ad AFTER DELETE ON analytics_search_docs BEGIN
        INSERT INTO analytics_search_fts
            (analytics_search_fts, rowid, folded_title, folded_description)
        VALUES ('delete', old.id, old.folded_title, old.folded_description);
    END
    """,
    """
    CREATE TRIGGER analytics_search_docs_au
    AFTER UPDATE OF folded_title, folded_description ON analytics_search_docs BEGIN
        INSERT INTO analytics_search_fts
            (analytics_search_fts, rowid, folded_title, folded_description)
        VALUES ('delete', old.id, old.folded_title, old.folded_description);
        INSERT INTO analytics_search_fts (rowid, folded_title, folded_description)
        VALUES (new.id, new.folded_title, new.folded_description);
    END
    """,
)


def upgrade() -> None:
    op.create_table(
        "analytics_search_docs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("auction_id", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("folded_title", sa.Text, nullable=False),
        sa.Column("folded_description", sa.Text, nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("bid_count", sa.Integer, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("indexed_version", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_analytics_search_docs_filters",
        "analytics_search_docs",
        ["status", "category", "price_cents"],
    )
    op.create_index(
        "ix_analytics_search_docs_unindexed",
        "analytics_search_docs",
        ["id"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )
    statements = {"postgresql": _POSTGRES, "sqlite": _SQLITE}[op.get_bind().dialect.name]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS analytics_search_docs_{trigger}")
        op.execute("DROP TABLE IF EXISTS analytics_search_fts")
    else:
        op.drop_index("ix_analytics_search_docs_document", table_name="analytics_search_docs")
    op.drop_index("ix_analytics_search_docs_unindexed", table_name="analytics_search_docs")
    op.drop_index("ix_analytics_search_docs_filters", table_name="analytics_search_docs")
    op.drop_table("analytics_search_docs")
