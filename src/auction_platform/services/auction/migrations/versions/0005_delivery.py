"""Auction service: how a lot reaches its buyer."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# ``DeliveryData`` as JSON text: lots listed before say the buyer arranges
# (``contracts.auctions.DEFAULT_DELIVERY``). Spelled out: a migration stays as written.
DEFAULT_DELIVERY = '{"shipping":[],"buyer_arranges":true,"pickup_town":null}'


def upgrade() -> None:
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delivery", sa.Text(), server_default=DEFAULT_DELIVERY, nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        batch_op.drop_column("delivery")
