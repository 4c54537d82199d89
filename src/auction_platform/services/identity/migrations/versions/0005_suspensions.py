"""Identity service: suspended accounts, every suspension kept as the account's history."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_suspensions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("suspended_by", sa.String(length=32), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=32), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identity_suspensions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identity_suspensions_user", ["user_id", "suspended_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_suspensions", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_suspensions_user")
    op.drop_table("identity_suspensions")
