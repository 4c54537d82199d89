"""Bidding service: a book's version, bumped by every change (the live feed's order)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bidding_books", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.BigInteger(), nullable=True))
    # Watchers ordered a book's updates by its ledger sequence, a closed or cancelled
    # book after an open one: each version starts where that order stood.
    op.execute(
        "UPDATE bidding_books SET version = seq + CASE WHEN status = 'open' THEN 0 ELSE 1 END"
    )
    with op.batch_alter_table("bidding_books", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("bidding_books", schema=None) as batch_op:
        batch_op.drop_column("version")
