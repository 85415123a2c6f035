"""Store operations of the news pipeline: items, topic matches, followers, alert payloads."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.store.bulk import KEYS_PER_IN, insert_new
from bot.store.models import Chat, Deadline, Item, ItemTopic, Source, TopicSubscription
from jobs.signals.why import why_matched
from jobs.sources.parse import ParsedItem

MAX_LINK_CHARS = 2000


@dataclass(frozen=True, slots=True)
class TopicRef:
    id: int
    slug: str
    title: str
    query: str = ""  # what the alert's "why it matched" is read from


def known_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """The keys among `keys` that the store already holds."""
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), KEYS_PER_IN):
        chunk = wanted[start : start + KEYS_PER_IN]
        found.update(session.exec(select(Item.key).where(col(Item.key).in_(chunk))).all())
    return found


# An item to store: (source id, identity key, the item, when it was fetched).
NewItem = tuple[int, str, ParsedItem, datetime]


ITEM_COLUMNS = (
    "key",
    "source_id",
    "title",
    "link",
    "summary",
    "source_name",
    "published_at",
    "fetched_at",
)


def store_items(session: Session, items: Sequence[NewItem]) -> dict[str, int]:
    """Insert the items whose key the store does not hold yet; key -> id of those inserted.

    Keys must be distinct. A key stored before, by any source or by another replica racing
    this one, conflicts and is skipped: what comes back is exactly what is new.
    """
    rows = [
        (
            key,
            source_id,
            item.title[:1000],
            item.link if item.link and len(item.link) <= MAX_LINK_CHARS else None,
            item.summary,
            item.source_name[:300] if item.source_name else None,
            item.published,
            fetched_at,
        )
        for source_id, key, item, fetched_at in items
    ]
    table = Item.__table__  # type: ignore[attr-defined]
    inserted = insert_new(
        session, table, ITEM_COLUMNS, rows, unique=("key",), returning=("id", "key")
    )
    return {key: item_id for item_id, key in inserted}


def store_matches(
    session: Session, matches: Iterable[tuple[int, Iterable[TopicRef], datetime]]
) -> None:
    """Record which topics each new item matched, and when (what /news shows)."""
    rows = [
        (item_id, topic.id, matched_at)
        for item_id, topics, matched_at in matches
        for topic in topics
    ]
    table = ItemTopic.__table__  # type: ignore[attr-defined]
    columns = ("item_id", "topic_id", "matched_at")
    insert_new(session, table, columns, rows, unique=("item_id", "topic_id"))


def recent_published(session: Session, source_id: int, limit: int) -> list[datetime]:
    """The publication dates of a source's latest dated items (for its usual rhythm)."""
    dates = session.exec(
        select(Item.published_at)
        .where(Item.source_id == source_id, col(Item.published_at).is_not(None))
        .order_by(col(Item.published_at).desc())
        .limit(limit)
    ).all()
    return [d for d in dates if d is not None]


def news_payload(
    item_id: int, item: ParsedItem, topic: TopicRef, source: str | None
) -> dict[str, object]:
    """The payload contract of bot/render/news.py for one story. `deadline` is filled later,
    per chat, by the signals hook that links the item to deadlines (`deadline_ref`)."""
    return {
        "item_id": item_id,
        "title": item.title,
        "link": item.link,
        "source": item.source_name or source,
        "published_at": item.published.isoformat() if item.published else None,
        "topic_slug": topic.slug,
        "topic_title": topic.title,
        "more_sources": [],
        "deadline": None,
        "why": why_matched(topic.query, item.title, item.summary) if topic.query else None,
    }


def deadline_ref(deadline: Deadline) -> dict[str, object]:
    """What a news alert says of the deadline it concerns (its countdown is read when sent)."""
    return {
        "slug": deadline.slug,
        "title": deadline.title,
        "due_at": deadline.due_at.isoformat(),
        "all_day": deadline.all_day,
        "timezone": deadline.timezone,
    }


def health_payload(source: Source, state: str) -> dict[str, object]:
    last = source.last_new_item_at
    return {
        "source_id": source.id,
        "name": source.name or source.url,
        "url": source.url,
        "state": state,
        "failures": source.consecutive_failures,
        "error": source.last_error,
        "last_new_item_at": last.isoformat() if last else None,
    }


def admin_chats(session: Session, admins: Sequence[int]) -> list[int]:
    """The admins who have a chat with Herald (they sent /start), active."""
    if not admins:
        return []
    rows = session.exec(select(Chat.id).where(col(Chat.id).in_(list(admins)), col(Chat.active)))
    return sorted(rows.all())


def followers(
    session: Session, now: datetime, topic_ids: Collection[int] | None = None
) -> dict[int, list[int]]:
    """Active chats following each topic (of `topic_ids`, or all) and not muting it, by topic
    id."""
    statement = (
        select(TopicSubscription.topic_id, TopicSubscription.chat_id)
        .join(Chat, col(Chat.id) == TopicSubscription.chat_id)
        .where(
            col(Chat.active),
            (col(TopicSubscription.muted_until).is_(None))
            | (col(TopicSubscription.muted_until) <= now),
        )
        .order_by(col(TopicSubscription.chat_id))
    )
    if topic_ids is not None:
        statement = statement.where(col(TopicSubscription.topic_id).in_(list(topic_ids)))
    followers: dict[int, list[int]] = {}
    for topic_id, chat_id in session.exec(statement).all():
        followers.setdefault(topic_id, []).append(chat_id)
    return followers


class FollowersOnDemand(Mapping[int, Sequence[int]]):
    """`followers` of one topic at a time, read when first asked for and kept for the batch.

    Most batches alert nobody (a first fetch, 304s, items matching nothing) and read none;
    reading them all ahead would be a million rows with 10,000 chats following 100 topics.
    A topic nobody follows maps to an empty list, never to a KeyError.
    """

    def __init__(self, session: Session, now: datetime) -> None:
        self._session = session
        self._now = now
        self._read: dict[int, list[int]] = {}

    def __getitem__(self, topic_id: int) -> list[int]:
        if topic_id not in self._read:
            found = followers(self._session, self._now, [topic_id])
            self._read[topic_id] = found.get(topic_id, [])
        return self._read[topic_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)
