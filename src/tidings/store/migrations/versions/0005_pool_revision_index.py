"""index enrichments.updated_at, so the candidate pool's change check is an index lookup

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("enrichments", schema=None) as batch_op:
        batch_op.create_index("ix_enrichments_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("enrichments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrichments_updated_at")
