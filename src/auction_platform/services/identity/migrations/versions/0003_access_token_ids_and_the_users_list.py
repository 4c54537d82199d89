"""Identity service: the access token issued with each refresh token, and the users list.

A change of roles marks the account's live access tokens stale, so each issue
records its access token's ``jti`` and expiry; the operators' list of accounts
pages newest first on ``(created_at, id)``. Existing rows have no access token id:
theirs expire within the access-token lifetime.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_token_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("identity_users", schema=None) as batch_op:
        batch_op.create_index("ix_identity_users_created", ["created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_users", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_users_created")

    with op.batch_alter_table("identity_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("access_expires_at")
        batch_op.drop_column("access_token_id")
