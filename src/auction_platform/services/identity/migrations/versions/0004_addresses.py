"""Identity service: the buyer's delivery addresses."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_addresses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("line1", sa.String(length=120), nullable=False),
        sa.Column("line2", sa.String(length=120), nullable=True),
        sa.Column("city", sa.String(length=80), nullable=False),
        sa.Column("region", sa.String(length=80), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identity_addresses", schema=None) as batch_op:
        batch_op.create_index("ix_identity_addresses_user", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_addresses", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_addresses_user")
    op.drop_table("identity_addresses")
