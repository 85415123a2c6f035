"""Topics and news for chats: /watch, /unwatch, /topics, /news and muting a topic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from bot.domain.query import parse_query
from bot.domain.slugs import first_free, slug_words, slugify
from bot.store.models import Item, ItemTopic, Source, Topic, TopicSubscription

MAX_TOPIC_TITLE_CHARS = 300
MAX_QUERY_CHARS = 500
SLUG_WORDS = 5
SLUG_MAX_CHARS = 40
LATEST_NEWS = 10
MUTE_FOREVER = timedelta(days=3650)  # "muted" until /unmute topic: ten years is never here


class TopicNotFound(LookupError):
    """No topic with that id is visible to the chat."""


@dataclass(frozen=True, slots=True)
class TopicLine:
    slug: str
    title: str
    query: str
    followed: bool
    muted: bool
    own: bool


@dataclass(frozen=True, slots=True)
class MatchedNews:
    title: str
    link: str | None
    source: str | None
    published_at: datetime | None
    topic_title: str


def topic_slug_base(query: str) -> str:
    """A readable id from the words a query looks for: '"rare earth" export -opinion' ->
    'rare-earth-export' (excluded words are not what the topic is about)."""
    wanted = re.sub(r'(?:(?<=\s)|^)-(?:"[^"]*"|\S+)', " ", query)
    words = [w for w in slug_words(wanted) if w not in ("or", "and", "site", "intitle")]
    return slugify(words[:SLUG_WORDS], max_chars=SLUG_MAX_CHARS, fallback="topic")


def _visible(chat_id: int) -> Any:
    """Config topics and the chat's own."""
    return or_(col(Topic.origin) == "config", col(Topic.owner_chat_id) == chat_id)


def _unique_topic_slug(session: Session, base: str, chat_id: int) -> str:
    """Unique among the topics the chat sees: another chat's ids never show through."""
    taken = session.exec(
        select(Topic.slug).where(col(Topic.slug).startswith(base), _visible(chat_id))
    ).all()
    return first_free(base, set(taken))


def visible_topic(session: Session, slug: str, chat_id: int) -> Topic:
    """A config topic, or one this chat created; raises TopicNotFound."""
    topic = session.exec(
        select(Topic)
        .where(Topic.slug == slug.lower(), _visible(chat_id))
        .order_by(col(Topic.owner_chat_id).is_not(None))  # a config id wins a clash
    ).first()
    if topic is None:
        raise TopicNotFound(slug)
    return topic


def _follow(session: Session, chat_id: int, topic: Topic) -> bool:
    assert topic.id is not None
    current = session.exec(
        select(TopicSubscription).where(
            TopicSubscription.chat_id == chat_id, TopicSubscription.topic_id == topic.id
        )
    ).first()
    if current is not None:
        return False
    session.add(TopicSubscription(chat_id=chat_id, topic_id=topic.id))
    return True


class TopicLimit(Exception):
    """The chat already has as many topics of its own as it may."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def follow(session: Session, chat_id: int, slug: str) -> tuple[Topic, bool]:
    """Follow a visible topic by id (never a new query); return it and whether it is new here.

    Raises TopicNotFound for an id the chat cannot see.
    """
    topic = visible_topic(session, slug, chat_id)
    return topic, _follow(session, chat_id, topic)


def watch(
    session: Session, chat_id: int, query: str, *, max_owned: int | None = None
) -> tuple[Topic, bool]:
    """Follow a visible topic named `query`, or create a chat topic for the query and follow it.

    Returns (topic, created). Raises QuerySyntaxError (with its position) for a bad query.
    """
    text = " ".join(query.split())
    try:
        topic = visible_topic(session, text, chat_id)
    except TopicNotFound:
        pass
    else:
        _follow(session, chat_id, topic)
        return topic, False
    parse_query(text)
    same = session.exec(
        select(Topic).where(Topic.owner_chat_id == chat_id, Topic.query == text)
    ).first()
    if same is not None:
        _follow(session, chat_id, same)
        return same, False
    if max_owned is not None:
        owned = session.exec(
            select(func.count()).select_from(Topic).where(Topic.owner_chat_id == chat_id)
        ).one()
        if owned >= max_owned:
            raise TopicLimit(max_owned)
    topic = Topic(
        slug=_unique_topic_slug(session, topic_slug_base(text), chat_id),
        title=text[:MAX_TOPIC_TITLE_CHARS],
        query=text[:MAX_QUERY_CHARS],
        origin="chat",
        owner_chat_id=chat_id,
    )
    session.add(topic)
    session.flush()
    _follow(session, chat_id, topic)
    return topic, True


def unwatch(session: Session, chat_id: int, slug: str) -> tuple[Topic, bool]:
    """Stop following; a chat's own topic is deleted with it. Returns (topic, was followed)."""
    topic = visible_topic(session, slug, chat_id)
    assert topic.id is not None
    removed = session.execute(
        delete(TopicSubscription).where(
            col(TopicSubscription.chat_id) == chat_id, col(TopicSubscription.topic_id) == topic.id
        )
    )
    was_followed = bool(removed.rowcount)  # type: ignore[attr-defined]
    if topic.origin == "chat" and topic.owner_chat_id == chat_id:
        session.execute(
            delete(TopicSubscription).where(col(TopicSubscription.topic_id) == topic.id)
        )
        session.execute(delete(ItemTopic).where(col(ItemTopic.topic_id) == topic.id))
        session.delete(topic)
    return topic, was_followed


def mute(session: Session, chat_id: int, slug: str, now: datetime) -> Topic:
    """Mute a followed topic until /unmute topic (news of it is no longer pushed here)."""
    topic = visible_topic(session, slug, chat_id)
    subscription = session.exec(
        select(TopicSubscription).where(
            TopicSubscription.chat_id == chat_id, TopicSubscription.topic_id == topic.id
        )
    ).first()
    if subscription is None:
        raise TopicNotFound(slug)
    subscription.muted_until = now + MUTE_FOREVER
    session.add(subscription)
    return topic


def topics(session: Session, chat_id: int, now: datetime) -> list[TopicLine]:
    """Followed topics first, then the others this chat may follow, by id."""
    subscriptions = {
        s.topic_id: s
        for s in session.exec(select(TopicSubscription).where(TopicSubscription.chat_id == chat_id))
    }
    rows = session.exec(
        select(Topic)
        .where(or_(col(Topic.origin) == "config", col(Topic.owner_chat_id) == chat_id))
        .order_by(col(Topic.slug))
    ).all()
    lines = []
    for topic in rows:
        sub = subscriptions.get(topic.id or 0)
        lines.append(
            TopicLine(
                slug=topic.slug,
                title=topic.title,
                query=topic.query,
                followed=sub is not None,
                muted=bool(sub and sub.muted_until and sub.muted_until > now),
                own=topic.owner_chat_id == chat_id,
            )
        )
    lines.sort(key=lambda line: (not line.followed, line.slug))
    return lines


def latest_news(
    session: Session, chat_id: int, slug: str | None = None, limit: int = LATEST_NEWS
) -> list[MatchedNews]:
    """The latest matched items of one visible topic, or of every topic the chat follows."""
    statement = (
        select(Item, Topic.title, Source.name)
        .join(ItemTopic, col(ItemTopic.item_id) == Item.id)
        .join(Topic, col(Topic.id) == ItemTopic.topic_id)
        .outerjoin(Source, col(Source.id) == Item.source_id)
    )
    if slug is not None:
        statement = statement.where(col(Topic.id) == visible_topic(session, slug, chat_id).id)
    else:
        followed = select(TopicSubscription.topic_id).where(TopicSubscription.chat_id == chat_id)
        statement = statement.where(col(Topic.id).in_(followed))
    statement = statement.order_by(col(ItemTopic.matched_at).desc(), col(Item.id).desc())
    lines: list[MatchedNews] = []
    seen: set[int] = set()
    for item, topic_title, source_name in session.exec(statement.limit(limit * 3)):
        if item.id in seen:
            continue
        seen.add(item.id or 0)
        lines.append(
            MatchedNews(
                item.title,
                item.link,
                item.source_name or source_name,
                item.published_at,
                topic_title,
            )
        )
        if len(lines) >= limit:
            break
    return lines
