"""delivery policy, recurrence, proposals, countdowns, sources, items, stories

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:33:56.200799
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString  # noqa: F401
from alembic import op

from bot.store.models import UTCDateTime

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:

    op.create_table('proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', AutoString(length=32), nullable=False),
    sa.Column('dedup_key', AutoString(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', AutoString(length=16), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('decided_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'dedup_key', name='uq_proposal_chat_dedup')
    )
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_chat_id'), ['chat_id'], unique=False)

    op.create_table('source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', AutoString(length=2000), nullable=False),
    sa.Column('kind', AutoString(length=16), nullable=False),
    sa.Column('url', AutoString(length=2000), nullable=False),
    sa.Column('name', AutoString(length=300), nullable=True),
    sa.Column('select', AutoString(length=500), nullable=True),
    sa.Column('origin', AutoString(length=16), nullable=False),
    sa.Column('owner_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('trusted', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('every_s', sa.Integer(), nullable=False),
    sa.Column('etag', AutoString(length=500), nullable=True),
    sa.Column('last_modified', AutoString(length=100), nullable=True),
    sa.Column('next_check_at', UTCDateTime(), nullable=False),
    sa.Column('last_checked_at', UTCDateTime(), nullable=True),
    sa.Column('last_success_at', UTCDateTime(), nullable=True),
    sa.Column('last_new_item_at', UTCDateTime(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_error', AutoString(), nullable=True),
    sa.Column('failing_reported', sa.Boolean(), nullable=False),
    sa.Column('quiet_reported', sa.Boolean(), nullable=False),
    sa.Column('baseline_done', sa.Boolean(), nullable=False),
    sa.Column('items_seen', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('story',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', AutoString(length=500), nullable=False),
    sa.Column('first_item_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('countdown',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('next_edit_at', UTCDateTime(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'deadline_id')
    )
    with op.batch_alter_table('countdown', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_countdown_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_countdown_deadline_id'), ['deadline_id'], unique=False)

    op.create_table('item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', AutoString(length=500), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('title', AutoString(length=1000), nullable=False),
    sa.Column('link', AutoString(length=2000), nullable=True),
    sa.Column('summary', AutoString(), nullable=False),
    sa.Column('source_name', AutoString(length=300), nullable=True),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.Column('fetched_at', UTCDateTime(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], ),
    sa.ForeignKeyConstraint(['story_id'], ['story.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_story_id'), ['story_id'], unique=False)

    op.create_table('deadline_item',
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('deadline_id', 'item_id')
    )
    op.create_table('item_topic',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('matched_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.ForeignKeyConstraint(['topic_id'], ['topic.id'], ),
    sa.PrimaryKeyConstraint('item_id', 'topic_id')
    )
    with op.batch_alter_table('item_topic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_topic_topic_id'), ['topic_id'], unique=False)

    with op.batch_alter_table('chat', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quiet_start', AutoString(length=5), nullable=True))
        batch_op.add_column(sa.Column('quiet_end', AutoString(length=5), nullable=True))
        batch_op.add_column(sa.Column('muted_until', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('digest', AutoString(length=16), nullable=False, server_default='off'))

    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule', AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('rule_start', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('calendar_url', AutoString(length=2000), nullable=True))
        batch_op.add_column(sa.Column('calendar_key', AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column('source_item_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_deadline_calendar_key'), ['calendar_key'], unique=False)

    with op.batch_alter_table('topic_subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('muted_until', UTCDateTime(), nullable=True))

def downgrade() -> None:

    with op.batch_alter_table('topic_subscription', schema=None) as batch_op:
        batch_op.drop_column('muted_until')

    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_calendar_key'))
        batch_op.drop_column('source_item_id')
        batch_op.drop_column('calendar_key')
        batch_op.drop_column('calendar_url')
        batch_op.drop_column('rule_start')
        batch_op.drop_column('rule')

    with op.batch_alter_table('chat', schema=None) as batch_op:
        batch_op.drop_column('digest')
        batch_op.drop_column('muted_until')
        batch_op.drop_column('quiet_end')
        batch_op.drop_column('quiet_start')

    with op.batch_alter_table('item_topic', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_topic_topic_id'))

    op.drop_table('item_topic')
    op.drop_table('deadline_item')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_story_id'))
        batch_op.drop_index(batch_op.f('ix_item_source_id'))

    op.drop_table('item')
    with op.batch_alter_table('countdown', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_countdown_deadline_id'))
        batch_op.drop_index(batch_op.f('ix_countdown_chat_id'))

    op.drop_table('countdown')
    op.drop_table('story')
    op.drop_table('source')
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_chat_id'))

    op.drop_table('proposal')

