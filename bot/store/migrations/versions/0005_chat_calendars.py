"""chat calendars: ICS URLs a chat subscribed to with /calendar add

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-06 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString
from alembic import op

from bot.store.models import UTCDateTime

revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chat_calendar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('url', AutoString(length=2000), nullable=False),
    sa.Column('added_by', AutoString(length=300), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_refreshed_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', AutoString(length=500), nullable=True),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'url', name='uq_chat_calendar_chat_url')
    )
    with op.batch_alter_table('chat_calendar', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_calendar_chat_id'), ['chat_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chat_calendar', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_calendar_chat_id'))
    op.drop_table('chat_calendar')
