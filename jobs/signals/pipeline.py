"""Signals from new news items, run by the poller right after it stores them (`after_store`).

For each batch of new items, in the poller's transaction:
1. stories: each item joins the story of an earlier item from another outlet, or starts one;
   a copy that joins a story whose alert is still waiting is added to that alert as "+N more";
2. deadlines: items matching a tracked deadline's keywords are linked to it (/deadline shows
   them);
3. proposals: dates in the text that announce a deadline ("the truce expires on August 12")
   are offered to the chats that follow the item's topics ([Track] [Ignore]); a change to a
   deadline already linked ("the truce was extended to November 10") is offered as a move to
   its followers. Nothing is added without a click, and each is offered to a chat once.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.domain.query import QuerySyntaxError, parse_query
from bot.services.access import SHARED_ORIGINS
from bot.services.deadlines import follower_ids
from bot.services.proposals import NewsFinding, admin_chats, propose_from_news
from bot.store.models import (
    Alert,
    Chat,
    Deadline,
    DeadlineItem,
    DeadlineSubscription,
    Item,
    ItemTopic,
    Source,
    Story,
    Topic,
    TopicSubscription,
)
from jobs.signals.deadline_finder import FoundDeadline, find_deadlines
from jobs.signals.stories import NewsItem, StoryClusterer
from jobs.sources.match import Document, Matcher
from jobs.sources.storage import deadline_ref

log = logging.getLogger(__name__)

# Items replayed into the clusterer on first use: its 48 h window, plus older items whose
# words still weigh (word frequencies fade over about two weeks).
WARM_UP_SPAN = timedelta(days=7)
WARM_UP_MAX_ITEMS = 20_000
MAX_MORE_SOURCES = 10


def keyword_query(keywords: list[str]) -> str | None:
    """A deadline's keywords as one query: any keyword, each needing all its words
    ("UK US trade deal" matches "US and UK near trade deal"); quoted parts stay exact phrases."""
    groups = []
    for keyword in keywords:
        words = [w.lstrip("-") for w in re.sub(r"[():]", " ", keyword).split()]
        words = [w for w in words if w and w.upper() != "OR"]
        if words:
            groups.append("(" + " ".join(words) + ")")
    return " OR ".join(groups) if groups else None


def _news_item(item: Item, outlet: str) -> NewsItem:
    return NewsItem(
        id=str(item.id),
        title=item.title,
        source=outlet,
        published=item.published_at or item.fetched_at,
        summary=item.summary or "",
    )


@dataclass
class NewsSignals:
    """The `after_store` hook. Its memory (the clusterer) is rebuilt from the store on first use."""

    default_zone: str
    admins: tuple[int, ...] = ()  # bot admins: told of news moving a config/calendar deadline
    clusterer: StoryClusterer = field(default_factory=StoryClusterer)
    _story_rows: dict[str, int] = field(default_factory=dict)  # clusterer story id -> Story.id
    _warm: bool = False
    _keywords: tuple[tuple[int, tuple[str, ...]], ...] = ()
    _matcher: Matcher | None = None
    _feed_names: dict[int, str] = field(default_factory=dict)

    def __call__(self, session: Session, items: list[Item], now: datetime) -> set[int]:
        """Returns the ids of items that joined an earlier story: they alert no one again."""
        if not self._warm:
            self._warm_up(session, now)
        copies = self.assign_stories(session, items, now)
        linked = self.link_deadlines(session, items, now)
        label_alerts(session, linked, now)
        self.propose(session, items, linked)
        return copies

    # --- stories -------------------------------------------------------------------------

    def _outlet(self, session: Session, item: Item) -> str:
        """Who published it: the item's own source (Google News names it), else the feed's."""
        if item.source_name:
            return item.source_name
        if item.source_id is None:
            return ""
        if item.source_id not in self._feed_names:
            feed = session.get(Source, item.source_id)
            self._feed_names[item.source_id] = (feed.name or feed.url) if feed else ""
        return self._feed_names[item.source_id]

    def _warm_up(self, session: Session, now: datetime) -> None:
        """Replay recent stored items (baselines too: they teach word weights) so stories
        continue across restarts."""
        recent = session.exec(
            select(Item)
            .where(col(Item.fetched_at) > now - WARM_UP_SPAN)
            .order_by(col(Item.published_at), col(Item.id))
            .limit(WARM_UP_MAX_ITEMS)
        ).all()
        for item in recent:
            assignment = self.clusterer.add(_news_item(item, self._outlet(session, item)))
            if item.story_id is not None:
                self._story_rows.setdefault(assignment.story_id, item.story_id)
        self._warm = True

    def assign_stories(self, session: Session, items: list[Item], now: datetime) -> set[int]:
        """Put each item in a story; return the ids of those that joined an existing one."""
        copies: set[int] = set()
        ordered = sorted(items, key=lambda i: (i.published_at or i.fetched_at, i.id or 0))
        for item in ordered:
            assignment = self.clusterer.add(_news_item(item, self._outlet(session, item)))
            story_id = self._story_rows.get(assignment.story_id)
            story = session.get(Story, story_id) if story_id is not None else None
            if story is None or assignment.is_new_story:
                story = Story(
                    title=item.title[:500], first_item_id=item.id, created_at=now, updated_at=now
                )
                session.add(story)
                session.flush()
                assert story.id is not None
                self._story_rows[assignment.story_id] = story.id
            else:
                story.size += 1
                story.updated_at = now
                session.add(story)
                self._add_to_waiting_alerts(session, story, item)
                if item.id is not None:
                    copies.add(item.id)
            item.story_id = story.id
            session.add(item)
        return copies

    def _add_to_waiting_alerts(self, session: Session, story: Story, copy: Item) -> None:
        """A later copy of a story is no alert of its own; it joins the first one's '+N more'."""
        waiting = session.exec(
            select(Alert).where(
                Alert.dedup_key == f"news:{story.first_item_id}", col(Alert.status) == "pending"
            )
        ).all()
        for alert in waiting:
            more = list(alert.payload.get("more_sources") or [])
            if len(more) < MAX_MORE_SOURCES:
                more.append(
                    {"name": self._outlet(session, copy) or "another outlet", "link": copy.link}
                )
                alert.payload = {**alert.payload, "more_sources": more}
                session.add(alert)

    # --- deadlines linked by keywords ------------------------------------------------------

    def _deadline_matcher(self, session: Session) -> Matcher | None:
        rows = session.exec(
            select(Deadline.id, Deadline.keywords).where(Deadline.status == "active")
        ).all()
        signature = tuple((i, tuple(k)) for i, k in rows if i is not None and k)
        if signature != self._keywords:
            queries = {}
            for deadline_id, keywords in signature:
                query = keyword_query(list(keywords))
                try:
                    if query:
                        parse_query(query)
                        queries[str(deadline_id)] = query
                except QuerySyntaxError as exc:
                    log.warning("deadline %s: keywords not usable (%s)", deadline_id, exc)
            self._matcher = Matcher(queries) if queries else None
            self._keywords = signature
        return self._matcher

    def link_deadlines(
        self, session: Session, items: list[Item], now: datetime
    ) -> dict[int, list[int]]:
        """Item id -> deadline ids whose keywords it matches; stored as DeadlineItem rows."""
        matcher = self._deadline_matcher(session)
        if matcher is None:
            return {}
        linked: dict[int, list[int]] = {}
        rows = []
        for item in items:
            assert item.id is not None
            hits = [
                int(d)
                for d in matcher.match(Document(item.title, item.summary or "", item.link or ""))
            ]
            if hits:
                linked[item.id] = hits
                rows += [{"deadline_id": d, "item_id": item.id, "linked_at": now} for d in hits]
        if rows:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(DeadlineItem).values(rows).on_conflict_do_nothing())
        return linked

    # --- proposals ---------------------------------------------------------------------------

    def propose(self, session: Session, items: list[Item], linked: dict[int, list[int]]) -> int:
        made = 0
        for item in items:
            assert item.id is not None
            published = (item.published_at or item.fetched_at).date()
            found = find_deadlines(f"{item.title}.\n{item.summary or ''}", published=published)
            if not found:
                continue
            deadlines = [
                d for d in (session.get(Deadline, i) for i in linked.get(item.id, [])) if d
            ]
            for finding in found:
                made += self._offer(session, item, finding, deadlines)
        return made

    def _offer(
        self, session: Session, item: Item, finding: FoundDeadline, deadlines: list[Deadline]
    ) -> int:
        ref = {"item_id": item.id, "title": item.title, "link": item.link}
        tracked_dates = {d.due_at.astimezone(ZoneInfo(d.timezone)).date() for d in deadlines}
        if finding.kind == "moved":
            made = 0
            for deadline in deadlines:
                if deadline.rule or finding.date in tracked_dates:
                    continue
                shared = deadline.origin in SHARED_ORIGINS
                chat_ids = (
                    admin_chats(session, self.admins)
                    if shared
                    else follower_ids(session, deadline.id or 0)
                )
                made += propose_from_news(
                    session,
                    chat_ids,
                    NewsFinding(
                        finding.date,
                        finding.what,
                        finding.sentence,
                        ref,
                        deadline.timezone,
                        moved_deadline_slug=deadline.slug,
                        moved_deadline_title=deadline.title,
                        suggestion=shared,
                    ),
                )
            return made
        if finding.date in tracked_dates:
            return 0  # already tracked: the news only confirms it
        made = 0
        for topic_slug, chat_ids in _topic_followers(session, item).items():
            made += propose_from_news(
                session,
                chat_ids,
                NewsFinding(finding.date, finding.what, finding.sentence, ref, self.default_zone),
                key=f"news:{topic_slug}:{finding.date.isoformat()}",
            )
        return made


def label_alerts(session: Session, linked: dict[int, list[int]], now: datetime) -> int:
    """Name, in each waiting news alert of a linked item, the deadline it concerns for that
    chat: one the chat follows first, else one it may see (public, or its own), the soonest
    still ahead first. A chat is never told of another chat's private deadline. Returns the
    number of alerts labelled."""
    if not linked:
        return 0
    keys = [f"news:{item_id}" for item_id in linked]
    alerts = session.exec(
        select(Alert).where(
            col(Alert.dedup_key).in_(keys), col(Alert.status) == "pending", Alert.kind == "news"
        )
    ).all()
    if not alerts:
        return 0
    wanted = {d for ids in linked.values() for d in ids}
    deadlines = {
        d.id: d
        for d in session.exec(
            select(Deadline).where(col(Deadline.id).in_(wanted), Deadline.status == "active")
        )
    }
    follows = set(
        session.exec(
            select(DeadlineSubscription.chat_id, DeadlineSubscription.deadline_id).where(
                col(DeadlineSubscription.deadline_id).in_(list(deadlines)),
                col(DeadlineSubscription.chat_id).in_({a.chat_id for a in alerts}),
            )
        ).all()
    )
    labelled = 0
    for alert in alerts:
        item_id = int(alert.dedup_key.removeprefix("news:"))
        seen = [
            d
            for d in (deadlines.get(i) for i in linked.get(item_id, []))
            if d is not None and d.owner_chat_id in (None, alert.chat_id)
        ]
        if not seen:
            continue
        best = min(
            seen,
            key=lambda d: ((alert.chat_id, d.id) not in follows, d.due_at < now, d.due_at),
        )
        alert.payload = {**alert.payload, "deadline": deadline_ref(best)}
        session.add(alert)
        labelled += 1
    return labelled


def _topic_followers(session: Session, item: Item) -> dict[str, list[int]]:
    """Topic slug -> active chats following a topic this item matched."""
    rows = session.exec(
        select(Topic.slug, TopicSubscription.chat_id)
        .join(ItemTopic, col(ItemTopic.topic_id) == Topic.id)
        .join(TopicSubscription, col(TopicSubscription.topic_id) == Topic.id)
        .join(Chat, col(Chat.id) == TopicSubscription.chat_id)
        .where(ItemTopic.item_id == item.id, col(Chat.active))
    ).all()
    by_topic: dict[str, list[int]] = defaultdict(list)
    seen: set[int] = set()
    for slug, chat_id in rows:
        if chat_id not in seen:  # one offer per chat, under the first topic it follows
            seen.add(chat_id)
            by_topic[slug].append(chat_id)
    return dict(by_topic)
