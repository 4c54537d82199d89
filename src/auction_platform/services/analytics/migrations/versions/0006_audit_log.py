"""Analytics service: the append-only audit log of operator actions.

One row per ``AuditRecorded`` event, keyed by the event's id. Append-only by
triggers on both databases: an UPDATE or DELETE of a row is refused (the code
never issues one; the triggers stop a hand at the SQL prompt, or a bug, too).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_MESSAGE = "analytics_audit_log is append-only"

_POSTGRES = (
    f"""
    CREATE FUNCTION analytics_audit_log_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER analytics_audit_log_append_only
    BEFORE UPDATE OR DELETE ON analytics_audit_log
    FOR EACH ROW EXECUTE FUNCTION analytics_audit_log_refuse()
    """,
    """
    CREATE TRIGGER analytics_audit_log_no_truncate
    BEFORE TRUNCATE ON analytics_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_audit_log_refuse()
    """,
)

_SQLITE = tuple(
    f"""
    CREATE TRIGGER analytics_audit_log_no_{verb.lower()}
    BEFORE {verb} ON analytics_audit_log
    BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END
    """
    for verb in ("UPDATE", "DELETE")
)


def upgrade() -> None:
    op.create_table(
        "analytics_audit_log",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("producer", sa.String(50), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_analytics_audit_log_at", "analytics_audit_log", ["at", "event_id"])
    op.create_index("ix_analytics_audit_log_actor", "analytics_audit_log", ["actor_id", "at"])
    op.create_index("ix_analytics_audit_log_target", "analytics_audit_log", ["target", "at"])
    op.create_index("ix_analytics_audit_log_action", "analytics_audit_log", ["action", "at"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    # Dropping the table drops its triggers; PostgreSQL's function goes by itself.
    op.drop_table("analytics_audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION analytics_audit_log_refuse()")
