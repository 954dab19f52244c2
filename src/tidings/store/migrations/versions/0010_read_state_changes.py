"""index read_state.updated_at, so that "read by others" is refreshed from the rows changed since, not a count

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("read_state", schema=None) as batch_op:
        batch_op.create_index("ix_read_state_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("read_state", schema=None) as batch_op:
        batch_op.drop_index("ix_read_state_updated_at")
