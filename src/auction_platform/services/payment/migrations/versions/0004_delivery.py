"""Payment service: how an order reaches its buyer (method, address, shipping, receipt)."""

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
