"""SQLModel tables: the store is the truth for chats, deadlines, subscriptions and alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        zone = value.tzinfo
        if zone is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        if zone is not UTC:  # most values are UTC already; converting is the costly part
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002  TypeDecorator's signature; every dialect reads alike
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(nullable: bool = False, **kwargs: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, **kwargs))


def _chat_id(**kwargs: Any) -> Any:
    return Field(sa_column=Column(BigInteger, **kwargs))


class Chat(SQLModel, table=True):
    """A Telegram chat (private, group, supergroup, channel) or the console."""

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = "private"
    title: str | None = None
    timezone: str | None = None
    active: bool = True
    auto_follow: bool = True  # follow config deadlines and topics, including ones added later
    inactive_reason: str | None = None
    created_at: datetime = _when(default=utcnow)
    # Delivery policy (see docs/delivery.md): quiet hours as "HH:MM", digest as "off",
    # "hourly" or "daily HH:MM".
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    muted_until: datetime | None = _when(nullable=True)
    digest: str = Field(default="off", max_length=16)
    # The language pushes are written in: the chosen one, else the last one seen from the
    # chat (None: English).
    language: str | None = Field(default=None, max_length=8)
    # The language chosen in /settings for every reply and push here, whoever writes; None:
    # each person's app language.
    chosen_language: str | None = Field(default=None, max_length=8)
    # Reminder offsets (/settings) for every deadline the chat follows, also ones it follows
    # later; None: each deadline's own.
    default_remind: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


def _slug_indexes(table: str) -> tuple[Index, Index]:
    """Ids are unique per owner chat; global ones (no owner) are unique among themselves.

    A unique index on (owner_chat_id, slug) alone would let NULL owners repeat (NULLs are
    distinct in unique indexes on SQLite and PostgreSQL), hence the partial one.
    """
    global_only = text("owner_chat_id IS NULL")
    return (
        Index(f"uq_{table}_owner_slug", "owner_chat_id", "slug", unique=True),
        Index(
            f"uq_{table}_global_slug",
            "slug",
            unique=True,
            sqlite_where=global_only,
            postgresql_where=global_only,
        ),
    )


class Destination(SQLModel, table=True):
    """A forum topic Herald talks in: (Telegram chat, message thread).

    A topic is a destination of its own: it has a `Chat` row whose id is `topic_chat_id(id)`
    (below any Telegram chat id), so its subscriptions, settings and alerts are kept apart from
    the forum's other topics. Only sending needs the Telegram address back (see
    bot/services/destinations.py).
    """

    __table_args__ = (UniqueConstraint("chat_id", "thread_id", name="uq_destination_thread"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    thread_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = _when(default=utcnow)


class Deadline(SQLModel, table=True):
    """A dated event; `reminded_until` marks how far its reminders have been turned into alerts."""

    __table_args__ = _slug_indexes("deadline")

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True, max_length=64)
    title: str = Field(max_length=300)
    due_at: datetime = _when()
    timezone: str = Field(max_length=64)
    all_day: bool = False
    remind: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    url: str | None = Field(default=None, max_length=2000)
    description: str | None = None
    origin: str = Field(default="config", max_length=16)  # config | chat | calendar | news
    owner_chat_id: int | None = _chat_id(nullable=True, index=True)
    status: str = Field(default="active", max_length=16)  # active | cancelled
    # Recurring deadlines: an RRULE or a 5-field cron rule read in `timezone`, anchored at
    # `rule_start` (local wall time of the first occurrence); `due_at` is the next occurrence.
    rule: str | None = Field(default=None, max_length=300)
    rule_start: datetime | None = _when(nullable=True)
    # Deadlines from calendars: the feed and the event's stable key (uid or uid#occurrence).
    calendar_url: str | None = Field(default=None, max_length=2000)
    calendar_key: str | None = Field(default=None, max_length=500, index=True)
    source_item_id: int | None = None  # the news item a deadline was tracked from
    reminded_until: datetime = _when(default=utcnow)
    created_at: datetime = _when(default=utcnow)
    updated_at: datetime = _when(default=utcnow)


class DeadlineChange(SQLModel, table=True):
    """One entry in a deadline's history: created, moved, renamed, cancelled."""

    __tablename__ = "deadline_change"

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    at: datetime = _when(default=utcnow)
    kind: str = Field(max_length=16)
    old_value: str | None = None
    new_value: str | None = None
    actor: str | None = Field(default=None, max_length=100)


class Topic(SQLModel, table=True):
    """A news topic: a query in Google-Alerts syntax."""

    __table_args__ = _slug_indexes("topic")

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True, max_length=64)
    title: str = Field(max_length=300)
    query: str = Field(max_length=2000)
    origin: str = Field(default="config", max_length=16)
    owner_chat_id: int | None = _chat_id(nullable=True, index=True)
    created_at: datetime = _when(default=utcnow)


class DeadlineSubscription(SQLModel, table=True):
    """A chat following a deadline; `remind` overrides the deadline's offsets for that chat."""

    __tablename__ = "deadline_subscription"
    __table_args__ = (UniqueConstraint("chat_id", "deadline_id"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    remind: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _when(default=utcnow)


class TopicSubscription(SQLModel, table=True):
    """A chat following a news topic."""

    __tablename__ = "topic_subscription"
    __table_args__ = (UniqueConstraint("chat_id", "topic_id"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    topic_id: int = Field(foreign_key="topic.id", index=True)
    created_at: datetime = _when(default=utcnow)
    muted_until: datetime | None = _when(nullable=True)


class Alert(SQLModel, table=True):
    """The outbox: every push is a row first; `(chat_id, dedup_key)` makes it happen once."""

    __table_args__ = (
        UniqueConstraint("chat_id", "dedup_key", name="uq_alert_chat_dedup"),
        Index("ix_alert_status_not_before", "status", "not_before"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    dedup_key: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    priority: int = 1  # 0 urgent, 1 normal, 2 news
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending|sending|sent|failed|cancelled
    not_before: datetime = _when(default=utcnow)
    created_at: datetime = _when(default=utcnow)
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = _when(nullable=True)
    message_id: int | None = _chat_id(nullable=True)


class State(SQLModel, table=True):
    """Small named values the process must remember across restarts."""

    key: str = Field(primary_key=True, max_length=64)
    value: str


class Proposal(SQLModel, table=True):
    """Something waiting for a person's click: a typed /add, or a deadline found in the news."""

    __table_args__ = (UniqueConstraint("chat_id", "dedup_key", name="uq_proposal_chat_dedup"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = Field(max_length=32)  # add | news_deadline | news_move
    dedup_key: str = Field(max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | accepted | ignored
    created_at: datetime = _when(default=utcnow)
    decided_at: datetime | None = _when(nullable=True)


class Countdown(SQLModel, table=True):
    """A live countdown message the bot edits in place until its deadline."""

    __table_args__ = (UniqueConstraint("chat_id", "deadline_id"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    message_id: int | None = _chat_id(nullable=True)
    next_edit_at: datetime = _when(default=utcnow)
    active: bool = True
    created_at: datetime = _when(default=utcnow)


class Source(SQLModel, table=True):
    """A news source and its health; `url` is the address fetched (updated on a 301)."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=2000, unique=True)  # config identity: kind + original target
    kind: str = Field(max_length=16)  # feed | google_news | gdelt | page
    url: str = Field(max_length=2000)
    name: str | None = Field(default=None, max_length=300)
    select: str | None = Field(default=None, max_length=500)
    origin: str = Field(default="config", max_length=16)  # config | chat | opml
    owner_chat_id: int | None = _chat_id(nullable=True)
    trusted: bool = True
    active: bool = True
    every_s: int = 900
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    next_check_at: datetime = _when(default=utcnow)
    last_checked_at: datetime | None = _when(nullable=True)
    last_success_at: datetime | None = _when(nullable=True)
    last_new_item_at: datetime | None = _when(nullable=True)
    consecutive_failures: int = 0
    last_error: str | None = None
    failing_reported: bool = False
    quiet_reported: bool = False
    baseline_done: bool = False
    items_seen: int = 0
    created_at: datetime = _when(default=utcnow)


class Story(SQLModel, table=True):
    """Items from several outlets about the same event."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=500)
    first_item_id: int | None = None
    size: int = 1
    created_at: datetime = _when(default=utcnow)
    updated_at: datetime = _when(default=utcnow)


class Item(SQLModel, table=True):
    """A news item, stored once by its identity key whatever feed it came from."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=500, unique=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    title: str = Field(max_length=1000)
    link: str | None = Field(default=None, max_length=2000)
    summary: str = ""
    source_name: str | None = Field(default=None, max_length=300)
    published_at: datetime | None = _when(nullable=True)
    fetched_at: datetime = _when(default=utcnow)
    story_id: int | None = Field(default=None, foreign_key="story.id", index=True)


class ItemTopic(SQLModel, table=True):
    """An item matched a topic (what /news shows)."""

    __tablename__ = "item_topic"

    item_id: int = Field(foreign_key="item.id", primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", primary_key=True, index=True)
    matched_at: datetime = _when(default=utcnow)


class DeadlineItem(SQLModel, table=True):
    """A news item linked to a deadline through its keywords."""

    __tablename__ = "deadline_item"

    deadline_id: int = Field(foreign_key="deadline.id", primary_key=True)
    item_id: int = Field(foreign_key="item.id", primary_key=True)
    linked_at: datetime = _when(default=utcnow)


class ChatCalendar(SQLModel, table=True):
    """An iCalendar URL a chat subscribed to (/calendar add): its events are the chat's own
    deadlines, refreshed by the leader like the config's calendars."""

    __tablename__ = "chat_calendar"
    __table_args__ = (UniqueConstraint("chat_id", "url", name="uq_chat_calendar_chat_url"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    url: str = Field(max_length=2000)
    added_by: str | None = Field(default=None, max_length=300)
    created_at: datetime = _when(default=utcnow)
    last_refreshed_at: datetime | None = _when(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    events: int = 0


class RateSlot(SQLModel, table=True):
    """A send-rate bucket shared by every replica (see bot/delivery_policy/shared_limit.py).

    `tat` is the bucket's theoretical arrival time (GCRA), in seconds since the epoch on the
    database server's clock: the earliest moment the next call may go.
    """

    __tablename__ = "rate_slot"

    name: str = Field(max_length=64, primary_key=True)
    tat: float = 0.0
