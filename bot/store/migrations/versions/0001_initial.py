"""chats, deadlines, topics, subscriptions, alerts

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 00:24:19.331206
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlmodel.sql.sqltypes import AutoString

from bot.store.models import UTCDateTime


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('dedup_key', AutoString(length=200), nullable=False),
    sa.Column('kind', AutoString(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', AutoString(length=16), nullable=False),
    sa.Column('not_before', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', AutoString(), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'dedup_key', name='uq_alert_chat_dedup')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index('ix_alert_status_not_before', ['status', 'not_before'], unique=False)

    op.create_table('chat',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', AutoString(), nullable=False),
    sa.Column('title', AutoString(), nullable=True),
    sa.Column('timezone', AutoString(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('auto_follow', sa.Boolean(), nullable=False),
    sa.Column('inactive_reason', AutoString(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('deadline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', AutoString(length=64), nullable=False),
    sa.Column('title', AutoString(length=300), nullable=False),
    sa.Column('due_at', UTCDateTime(), nullable=False),
    sa.Column('timezone', AutoString(length=64), nullable=False),
    sa.Column('all_day', sa.Boolean(), nullable=False),
    sa.Column('remind', sa.JSON(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('url', AutoString(length=2000), nullable=True),
    sa.Column('description', AutoString(), nullable=True),
    sa.Column('origin', AutoString(length=16), nullable=False),
    sa.Column('owner_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('status', AutoString(length=16), nullable=False),
    sa.Column('reminded_until', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_owner_chat_id'), ['owner_chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_slug'), ['slug'], unique=True)

    op.create_table('state',
    sa.Column('key', AutoString(length=64), nullable=False),
    sa.Column('value', AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', AutoString(length=64), nullable=False),
    sa.Column('title', AutoString(length=300), nullable=False),
    sa.Column('query', AutoString(length=2000), nullable=False),
    sa.Column('origin', AutoString(length=16), nullable=False),
    sa.Column('owner_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('topic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_owner_chat_id'), ['owner_chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_topic_slug'), ['slug'], unique=True)

    op.create_table('deadline_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('kind', AutoString(length=16), nullable=False),
    sa.Column('old_value', AutoString(), nullable=True),
    sa.Column('new_value', AutoString(), nullable=True),
    sa.Column('actor', AutoString(length=100), nullable=True),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deadline_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_change_deadline_id'), ['deadline_id'], unique=False)

    op.create_table('deadline_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('remind', sa.JSON(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'deadline_id')
    )
    with op.batch_alter_table('deadline_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_subscription_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_subscription_deadline_id'), ['deadline_id'], unique=False)

    op.create_table('topic_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['topic_id'], ['topic.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'topic_id')
    )
    with op.batch_alter_table('topic_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_subscription_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_topic_subscription_topic_id'), ['topic_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('topic_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_subscription_topic_id'))
        batch_op.drop_index(batch_op.f('ix_topic_subscription_chat_id'))

    op.drop_table('topic_subscription')
    with op.batch_alter_table('deadline_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_subscription_deadline_id'))
        batch_op.drop_index(batch_op.f('ix_deadline_subscription_chat_id'))

    op.drop_table('deadline_subscription')
    with op.batch_alter_table('deadline_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_change_deadline_id'))

    op.drop_table('deadline_change')
    with op.batch_alter_table('topic', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_slug'))
        batch_op.drop_index(batch_op.f('ix_topic_owner_chat_id'))

    op.drop_table('topic')
    op.drop_table('state')
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_slug'))
        batch_op.drop_index(batch_op.f('ix_deadline_owner_chat_id'))

    op.drop_table('deadline')
    op.drop_table('chat')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_status_not_before')
        batch_op.drop_index(batch_op.f('ix_alert_chat_id'))

    op.drop_table('alert')

