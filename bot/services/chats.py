"""Chats: registration, reactivation, time zone, and following what the config ships."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.store.models import Chat, Deadline, DeadlineSubscription, Topic, TopicSubscription


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


def follow_config_items(session: Session, chat_ids: list[int]) -> tuple[int, int]:
    """Subscribe the chats to every active config deadline and config topic they do not follow."""
    deadline_ids = session.exec(
        select(Deadline.id).where(Deadline.origin == "config", Deadline.status == "active")
    ).all()
    topic_ids = session.exec(select(Topic.id).where(Topic.origin == "config")).all()
    added_d = added_t = 0
    for chat_id in chat_ids:
        have_d = set(
            session.exec(
                select(DeadlineSubscription.deadline_id).where(
                    DeadlineSubscription.chat_id == chat_id
                )
            ).all()
        )
        have_t = set(
            session.exec(
                select(TopicSubscription.topic_id).where(TopicSubscription.chat_id == chat_id)
            ).all()
        )
        for deadline_id in deadline_ids:
            if deadline_id is not None and deadline_id not in have_d:
                session.add(DeadlineSubscription(chat_id=chat_id, deadline_id=deadline_id))
                added_d += 1
        for topic_id in topic_ids:
            if topic_id is not None and topic_id not in have_t:
                session.add(TopicSubscription(chat_id=chat_id, topic_id=topic_id))
                added_t += 1
    return added_d, added_t


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
