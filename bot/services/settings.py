"""What the /settings menu shows and changes: a chat's zone, quiet hours, digest and language,
and which shipped deadlines and topics it follows (in pages, toggled one at a time by id)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, or_, select

from bot.services import chats, news
from bot.services import deadlines as deadline_ops
from bot.store.models import Chat, Deadline, DeadlineSubscription, Topic, TopicSubscription

PAGE_SIZE = 6
# Presets offered as buttons; anything else is typed (/quiet 10pm-7am, /digest daily 8am).
QUIET_PRESETS: tuple[str | None, ...] = (None, "22:00-07:00", "23:00-08:00", "21:00-06:00")
DIGEST_PRESETS: tuple[str, ...] = ("off", "hourly", "daily 08:00", "daily 18:00")
# Reminder offsets for every deadline a chat follows; None: each deadline's own defaults.
OFFSET_PRESETS: tuple[tuple[str, ...] | None, ...] = (
    None,
    ("7d", "1d", "1h", "0"),
    ("1d", "1h", "0"),
    ("2h", "0"),
    ("0",),
)


class ListChanged(LookupError):
    """The item a button named is no longer in the list it was pressed from."""


@dataclass(frozen=True)
class Overview:
    zone: str
    quiet: str | None
    digest: str
    deadlines_followed: int
    topics_followed: int
    language: str | None = None  # chosen for the chat; None: each person's app language


@dataclass(frozen=True)
class Toggle:
    item_id: int
    title: str
    followed: bool


@dataclass(frozen=True)
class TogglePage:
    items: tuple[Toggle, ...]
    page: int
    pages: int


def overview(session: Session, chat: Chat, default_zone: str) -> Overview:
    deadlines = session.exec(
        select(DeadlineSubscription.id).where(DeadlineSubscription.chat_id == chat.id)
    ).all()
    topics = session.exec(
        select(TopicSubscription.id).where(TopicSubscription.chat_id == chat.id)
    ).all()
    quiet = f"{chat.quiet_start}-{chat.quiet_end}" if chat.quiet_start else None
    return Overview(
        chats.zone_of(chat, default_zone),
        quiet,
        chat.digest or "off",
        len(deadlines),
        len(topics),
        chat.chosen_language,
    )


def _page_of(items: list[Toggle], page: int) -> TogglePage:
    pages = max(1, math.ceil(len(items) / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    return TogglePage(tuple(items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]), page, pages)


def _config_deadlines(session: Session, now: datetime) -> list[Deadline]:
    """The shipped deadlines still to come, soonest first."""
    query = (
        select(Deadline)
        .where(Deadline.origin == "config", Deadline.status == "active")
        .where(deadline_ops.upcoming_at(now))
        .order_by(col(Deadline.due_at), col(Deadline.id))
    )
    return list(session.exec(query).all())


def deadline_page(session: Session, chat_id: int, page: int, now: datetime) -> TogglePage:
    followed = deadline_ops.followed_ids(session, chat_id)
    items = [
        Toggle(d.id, d.title, d.id in followed)
        for d in _config_deadlines(session, now)
        if d.id is not None
    ]
    return _page_of(items, page)


def listed_deadline(session: Session, deadline_id: int, now: datetime) -> str:
    """The slug of a deadline the menu lists; ListChanged if it is not listed any more."""
    deadline = session.get(Deadline, deadline_id)
    if deadline is None or deadline not in _config_deadlines(session, now):
        raise ListChanged(str(deadline_id))
    return deadline.slug


def _visible_topics(session: Session, chat_id: int) -> list[Topic]:
    query = (
        select(Topic)
        .where(or_(col(Topic.origin) == "config", col(Topic.owner_chat_id) == chat_id))
        .order_by(col(Topic.slug))
    )
    return list(session.exec(query).all())


def topic_page(session: Session, chat_id: int, page: int) -> TogglePage:
    followed = set(
        session.exec(
            select(TopicSubscription.topic_id).where(TopicSubscription.chat_id == chat_id)
        ).all()
    )
    items = [
        Toggle(t.id, t.title, t.id in followed)
        for t in _visible_topics(session, chat_id)
        if t.id is not None
    ]
    return _page_of(items, page)


def toggle_topic(session: Session, chat_id: int, topic_id: int) -> bool:
    """Follow the topic if the chat does not, else stop; return whether it follows it now."""
    topic = session.get(Topic, topic_id)
    if topic is None or topic not in _visible_topics(session, chat_id):
        raise ListChanged(str(topic_id))
    following = session.exec(
        select(TopicSubscription.id).where(
            TopicSubscription.chat_id == chat_id, TopicSubscription.topic_id == topic_id
        )
    ).first()
    if following is None:
        news.watch(session, chat_id, topic.slug)
        return True
    news.unwatch(session, chat_id, topic.slug)
    return False


def set_offsets_everywhere(
    session: Session, chat_id: int, remind: tuple[str, ...] | None
) -> list[int]:
    """Give every deadline the chat follows these offsets (None: the deadline's own);
    return the deadlines changed, whose reminders must be planned again. Deadlines the chat
    follows later get them too (`chats.new_subscription`)."""
    chat = session.get(Chat, chat_id)
    if chat is not None:
        chat.default_remind = list(remind) if remind else None
        session.add(chat)
    rows = session.exec(
        select(Deadline)
        .join(DeadlineSubscription, col(DeadlineSubscription.deadline_id) == Deadline.id)
        .where(DeadlineSubscription.chat_id == chat_id)
    ).all()
    for deadline in rows:
        deadline_ops.follow(session, chat_id, deadline, remind, reset=remind is None)
    return [d.id for d in rows if d.id is not None]
