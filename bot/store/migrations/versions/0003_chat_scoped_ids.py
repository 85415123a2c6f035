"""deadline and topic ids unique per owner chat (global ones among themselves)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 21:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GLOBAL_ONLY = sa.text("owner_chat_id IS NULL")


def upgrade() -> None:
    for table in ("deadline", "topic"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_slug")
            batch_op.create_index(f"ix_{table}_slug", ["slug"], unique=False)
            batch_op.create_index(
                f"uq_{table}_owner_slug", ["owner_chat_id", "slug"], unique=True
            )
            batch_op.create_index(
                f"uq_{table}_global_slug",
                ["slug"],
                unique=True,
                sqlite_where=GLOBAL_ONLY,
                postgresql_where=GLOBAL_ONLY,
            )


def downgrade() -> None:
    for table in ("topic", "deadline"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"uq_{table}_global_slug")
            batch_op.drop_index(f"uq_{table}_owner_slug")
            batch_op.drop_index(f"ix_{table}_slug")
            batch_op.create_index(f"ix_{table}_slug", ["slug"], unique=True)
