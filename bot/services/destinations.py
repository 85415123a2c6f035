"""Destinations: where Herald answers and pushes. A chat, or one topic of a forum supergroup.

Everything Herald keeps per chat (subscriptions, settings, alerts, proposals, countdowns) is
keyed by a chat id. A forum topic gets an id of its own, `TOPIC_ID_BASE - destination.id`,
below every Telegram chat id (those fit in 52 bits), so two topics of one forum following the
same deadline are two subscribers with two alerts, and their settings never mix. Only the edges
translate: an update from a topic resolves to its id; a send to that id goes to the forum with
`message_thread_id`. The General topic (no thread id) is the forum chat itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.models import Destination

TOPIC_ID_BASE = -(2**53)


@dataclass(frozen=True)
class Address:
    """Where a destination is on Telegram."""

    chat_id: int
    thread_id: int | None = None


def is_topic(destination_id: int) -> bool:
    return destination_id <= TOPIC_ID_BASE


def topic_chat_id(destination: Destination) -> int:
    assert destination.id is not None
    return TOPIC_ID_BASE - destination.id


def resolve(session: Session, chat_id: int, thread_id: int | None) -> int:
    """The destination id of a chat, or of one of its forum topics (created on first sight)."""
    if thread_id is None:
        return chat_id
    found = _find(session, chat_id, thread_id)
    if found is None:
        try:
            with session.begin_nested():
                found = Destination(chat_id=chat_id, thread_id=thread_id)
                session.add(found)
        except IntegrityError:  # another process saw the topic first
            found = _find(session, chat_id, thread_id)
            assert found is not None
    return topic_chat_id(found)


def known(session: Session, chat_id: int, thread_id: int) -> int | None:
    """The destination id of a forum topic seen before; None for a new one (creates nothing)."""
    found = _find(session, chat_id, thread_id)
    return None if found is None else topic_chat_id(found)


def address(session: Session, destination_id: int) -> Address | None:
    """The Telegram chat (and thread) of a destination id; None for an unknown topic id."""
    if not is_topic(destination_id):
        return Address(destination_id)
    found = session.get(Destination, TOPIC_ID_BASE - destination_id)
    return None if found is None else Address(found.chat_id, found.thread_id)


def topics_of(session: Session, chat_id: int) -> list[int]:
    """The destination ids of every topic of a forum Herald has been used in."""
    rows = session.exec(select(Destination).where(col(Destination.chat_id) == chat_id)).all()
    return [topic_chat_id(d) for d in rows]


def _find(session: Session, chat_id: int, thread_id: int) -> Destination | None:
    return session.exec(
        select(Destination).where(
            col(Destination.chat_id) == chat_id, col(Destination.thread_id) == thread_id
        )
    ).first()
