"""Payment service: each order says how its lot was sold (its format).

Orders made before there were formats were English auctions.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("format", sa.String(length=24), server_default="english", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.drop_column("format")
