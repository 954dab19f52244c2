"""accounts hardening: case-insensitive user names, per-user source titles, invites, stopped feeds

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _name_key(name: str) -> str:
    # A frozen copy of tidings.store.users.name_key: migrations must not change when the code does.
    return unicodedata.normalize("NFKC", name).strip().casefold()[:64]


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=64), nullable=True))
    users = sa.table(
        "users", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("name_key")
    )
    conn = op.get_bind()
    seen: set[str] = set()
    # Names that differ only in case keep working with their exact spelling; the oldest one owns the key.
    for row in conn.execute(sa.select(users.c.id, users.c.name).order_by(users.c.id)).all():
        key = _name_key(str(row.name))
        if key in seen:
            continue
        seen.add(key)
        conn.execute(sa.update(users).where(users.c.id == row.id).values(name_key=key))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_name_key", ["name_key"], unique=True)

    with op.batch_alter_table("user_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.Text(), nullable=True))

    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["used_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("invites")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("stopped_at")
    with op.batch_alter_table("user_sources", schema=None) as batch_op:
        batch_op.drop_column("title")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_name_key")
        batch_op.drop_column("name_key")
