"""Chats: registration, reactivation, time zone, and following what the config ships."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.services import destinations
from bot.store.bulk import KEYS_PER_IN
from bot.store.models import (
    Chat,
    Deadline,
    DeadlineSubscription,
    Topic,
    TopicSubscription,
    utcnow,
)


@dataclass(frozen=True)
class Registration:
    chat: Chat
    created: bool
    reactivated: bool
    deadlines_followed: int
    topics_followed: int


def register(
    session: Session, chat_id: int, *, kind: str, title: str | None, auto_follow: bool
) -> Registration:
    """Record the chat (or wake it up); the first time, follow the config's deadlines and topics."""
    chat = session.get(Chat, chat_id)
    created = chat is None
    reactivated = False
    if chat is None:
        chat = Chat(id=chat_id, kind=kind, title=title, auto_follow=auto_follow)
        session.add(chat)
        session.flush()
    else:
        reactivated = not chat.active
        chat.active = True
        chat.inactive_reason = None
        chat.kind = kind
        chat.title = title
        session.add(chat)
    deadlines = topics = 0
    if created and auto_follow:
        deadlines, topics = follow_config_items(session, [chat_id])
    return Registration(chat, created, reactivated, deadlines, topics)


def follow_config_items(session: Session, chat_ids: Sequence[int]) -> tuple[int, int]:
    """Subscribe the chats to every active config deadline and config topic they do not follow.

    One `INSERT … SELECT` per table and chunk of chats, skipping the pairs that exist: at
    start-up every auto-following chat is passed, and row by row 10,000 chats took minutes.
    """
    now = utcnow()
    deadlines = select(Deadline.id).where(Deadline.origin == "config", Deadline.status == "active")
    topics = select(Topic.id).where(Topic.origin == "config")
    added_d = added_t = 0
    for start in range(0, len(chat_ids), KEYS_PER_IN):
        chunk = list(chat_ids[start : start + KEYS_PER_IN])
        added_d += _follow_all(
            session, DeadlineSubscription, "deadline_id", deadlines, chunk, now, with_offsets=True
        )
        added_t += _follow_all(session, TopicSubscription, "topic_id", topics, chunk, now)
    return added_d, added_t


def _follow_all(
    session: Session,
    subscription: type[SQLModel],
    item_column: str,
    items: SelectOfScalar[Any],
    chat_ids: list[int],
    now: datetime,
    *,
    with_offsets: bool = False,
) -> int:
    """Subscribe each chat to each item of `items` it does not follow; how many were added.

    `with_offsets`: the new subscriptions take the chat's default reminder offsets (/settings),
    as a deadline followed any other way does (`new_subscription`).
    """
    table = subscription.__table__  # type: ignore[attr-defined]
    wanted = items.subquery()
    columns: list[Any] = [col(Chat.id), wanted.c.id, literal(now, type_=table.c.created_at.type)]
    names = ["chat_id", item_column, "created_at"]
    if with_offsets:
        columns.append(col(Chat.default_remind))
        names.append("remind")
    pairs = (
        select(*columns)
        .join(wanted, true())  # every chat with every item
        .where(col(Chat.id).in_(chat_ids))  # a WHERE keeps SQLite's parser off `ON CONFLICT`
    )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .from_select(names, pairs)
        .on_conflict_do_nothing(index_elements=["chat_id", item_column])
    )
    # SQLAlchemy keeps an INSERT's row count only when asked to.
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
    return int(result.rowcount)  # type: ignore[attr-defined]


def auto_follow_chat_ids(session: Session) -> list[int]:
    return list(session.exec(select(Chat.id).where(col(Chat.active), col(Chat.auto_follow))).all())


def deactivate(session: Session, chat_id: int, reason: str) -> None:
    chat = session.get(Chat, chat_id)
    if chat is not None and chat.active:
        chat.active = False
        chat.inactive_reason = reason[:200]
        session.add(chat)


def zone_of(chat: Chat | None, default_zone: str) -> str:
    return (chat.timezone if chat and chat.timezone else None) or default_zone


def new_subscription(session: Session, chat_id: int, deadline_id: int) -> DeadlineSubscription:
    """The chat following a deadline from now on, with the chat's default offsets (/settings)
    if it chose some: however it comes to follow it (/follow, a link, a toggle, auto-follow)."""
    chat = session.get(Chat, chat_id)
    remind = chat.default_remind if chat is not None else None
    return DeadlineSubscription(
        chat_id=chat_id, deadline_id=deadline_id, remind=list(remind) if remind else None
    )


def remember_language(session: Session, chat_id: int, language: str) -> bool:
    """Store the language pushes to the chat (and its forum topics) are written in, except
    where one was chosen (`choose_language`); False when the chat is not registered (nothing
    is stored about it then)."""
    ids = [chat_id, *destinations.topics_of(session, chat_id)]
    rows = session.exec(select(Chat).where(col(Chat.id).in_(ids))).all()
    for chat in rows:
        if chat.chosen_language is None and chat.language != language:
            chat.language = language
            session.add(chat)
    return bool(rows)


def choose_language(
    session: Session, chat_id: int, language: str | None, app_language: str
) -> None:
    """Speak `language` in the chat whoever writes, and push in it; None goes back to each
    person's app language, and pushes to `app_language` (the chooser's) until someone else
    writes. One column pushes read (`language`), so they need not know about the choice."""
    chat = session.get(Chat, chat_id)
    if chat is None:
        return
    chat.chosen_language = language
    chat.language = language or app_language
    session.add(chat)


def chosen_language(session: Session, chat_id: int, thread_id: int | None) -> str | None:
    """The language chosen for a chat or one of its forum topics (None: none chosen, or a
    chat or topic never seen); reads only, so it may run before the access rule."""
    dest = chat_id if thread_id is None else destinations.known(session, chat_id, thread_id)
    if dest is None:
        return None
    return session.exec(select(Chat.chosen_language).where(col(Chat.id) == dest)).first()
