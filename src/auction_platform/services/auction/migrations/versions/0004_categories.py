"""Auction service: the category tree, with a default tree and every category in use."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The tree a fresh platform starts with (slug, name, parent), siblings in this order.
# Admins change it freely afterwards (``/api/v1/categories``).
DEFAULT_TREE: tuple[tuple[str, str, str | None], ...] = (
    ("art", "Art", None),
    ("books", "Books", None),
    ("cameras", "Cameras & photo", None),
    ("lenses", "Lenses", "cameras"),
    ("film", "Film", "cameras"),
    ("accessories", "Camera accessories", "cameras"),
    ("collectibles", "Collectibles", None),
    ("coins", "Coins", "collectibles"),
    ("records", "Records", "collectibles"),
    ("home", "Home & living", None),
    ("kitchen", "Kitchen", "home"),
    ("textiles", "Textiles", "home"),
    ("clocks", "Clocks", "home"),
    ("watches", "Watches & jewellery", None),
    ("misc", "Everything else", None),
)


def _default_rows() -> list[dict[str, object]]:
    positions: dict[str | None, int] = {}
    rows: list[dict[str, object]] = []
    for slug, name, parent in DEFAULT_TREE:
        position = positions[parent] = positions.get(parent, -1) + 1
        rows.append({"slug": slug, "name": name, "parent": parent, "position": position})
    return rows


def upgrade() -> None:
    table = op.create_table(
        "auction_categories",
        sa.Column("slug", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("parent", sa.String(40), nullable=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    now = datetime.now(UTC)
    rows = _default_rows()
    # A category lots already use stays listable: a top-level one named after its slug.
    known = {row["slug"] for row in rows}
    used = op.get_bind().execute(sa.text("SELECT DISTINCT category FROM auction_lots"))
    extra = sorted(slug for (slug,) in used if slug not in known)
    rows += [
        {"slug": slug, "name": slug.replace("-", " ").capitalize(), "parent": None, "position": 100}
        for slug in extra
    ]
    op.bulk_insert(table, [{**row, "retired_at": None, "updated_at": now} for row in rows])


def downgrade() -> None:
    op.drop_table("auction_categories")
