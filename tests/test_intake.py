"""Taking a batch of parsed feeds in: what is new, who is alerted, and story copies withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.services import chats
from bot.store.db import session_scope
from bot.store.models import Alert, Item, ItemTopic, Source, Topic, TopicSubscription
from jobs.signals.pipeline import NewsSignals
from jobs.sources.digest import ParsedFeed
from jobs.sources.intake import Parsed, take_batch
from jobs.sources.parse import ParsedItem
from jobs.sources.storage import FollowersOnDemand, TopicRef, followers

NOW = datetime(2025, 6, 9, 12, 0, tzinfo=UTC)
ADA, BEN = 1, 2


@pytest.fixture
def engine(engine: Engine) -> Engine:
    """The migrated store of conftest, with this file's rows in it."""
    with session_scope(engine) as session:
        for chat_id in (ADA, BEN):
            chats.register(session, chat_id, kind="private", title=None, auto_follow=False)
        for name in ("Reuters", "BBC", "AP"):
            session.add(
                Source(key=f"feed:{name}", kind="feed", url=f"https://{name}.test/", name=name)
            )
        for slug in ("trade", "chips"):
            topic = Topic(slug=slug, title=slug.title(), query=slug)
            session.add(topic)
            session.flush()
            assert topic.id is not None
            session.add(TopicSubscription(chat_id=ADA, topic_id=topic.id))
            if slug == "chips":
                session.add(TopicSubscription(chat_id=BEN, topic_id=topic.id))
    return engine


def topics(session: Session) -> dict[str, TopicRef]:
    return {t.slug: TopicRef(t.id or 0, t.slug, t.title) for t in session.exec(select(Topic))}


def source_id(session: Session, name: str) -> int:
    found = session.exec(select(Source.id).where(Source.key == f"feed:{name}")).one()
    assert found is not None
    return found


def entry(
    key: str, title: str, *slugs: str, minutes: int = 0
) -> tuple[str, ParsedItem, tuple[str, ...]]:
    item = ParsedItem(
        guid=key,
        link=f"https://news.test/{key}",
        title=title,
        summary="",
        published=NOW + timedelta(minutes=minutes),
    )
    return key, item, slugs


def parsed(
    session: Session,
    name: str,
    *items: tuple[str, ParsedItem, tuple[str, ...]],
    baseline: bool = False,
) -> Parsed:
    return Parsed(
        source_id(session, name), name, ParsedFeed(name, len(items), items), NOW, baseline
    )


def news(session: Session) -> list[tuple[int, str, str, list[str]]]:
    rows = session.exec(select(Alert).where(Alert.kind == "news").order_by(col(Alert.id))).all()
    return [
        (
            a.chat_id,
            a.payload["title"],
            a.payload["source"],
            [m["name"] for m in a.payload["more_sources"]],
        )
        for a in rows
    ]


def test_a_batch_stores_each_key_once_and_alerts_each_follower_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        batch = [
            parsed(
                session,
                "Reuters",
                entry("a", "Chip export curbs widen", "chips", "trade"),
                entry("b", "Steel quota talks", "trade"),
            ),
            # "a" again (another feed carries the same story link): it belongs to Reuters.
            parsed(
                session,
                "BBC",
                entry("a", "Chip export curbs widen", "chips"),
                entry(
                    "c",
                    "Weather",
                ),
            ),
        ]
        taken = take_batch(session, batch, topics(session), followers(session, NOW))
        stored = session.exec(select(Item.key, Item.source_id).order_by(col(Item.key))).all()
        matched = len(session.exec(select(ItemTopic)).all())
        sent = news(session)
    assert [(t.new, t.alerts) for t in taken] == [(2, 3), (1, 0)]
    assert [key for key, _ in stored] == ["a", "b", "c"]
    assert stored[0][1] == batch[0].source_id
    assert matched == 3  # a: chips and trade; b: trade
    # Ada follows both of a's topics and hears of it once; Ben follows chips only.
    assert sorted(sent) == [
        (ADA, "Chip export curbs widen", "Reuters", []),
        (ADA, "Steel quota talks", "Reuters", []),
        (BEN, "Chip export curbs widen", "Reuters", []),
    ]


def test_known_items_and_baselines_alert_nobody(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = [parsed(session, "Reuters", entry("a", "Chip curbs", "chips"))]
        take_batch(session, first, topics(session), followers(session, NOW))
    with session_scope(engine) as session:
        batch = [
            parsed(session, "Reuters", entry("a", "Chip curbs (updated)", "chips")),
            parsed(session, "AP", entry("z", "Chip fab opens", "chips"), baseline=True),
        ]
        taken = take_batch(session, batch, topics(session), followers(session, NOW))
        sent = news(session)
        stored = session.exec(select(Item.key)).all()
    assert [(t.new, t.alerts) for t in taken] == [(0, 0), (1, 0)]
    assert sorted(stored) == ["a", "z"]
    assert [title for _, title, _, _ in sent] == ["Chip curbs", "Chip curbs"]  # Ada, Ben: once


def test_a_story_copy_in_the_same_batch_joins_the_first_alert(engine: Engine) -> None:
    """The copy's own alerts are withdrawn before anyone could see them; the first item's
    alerts name it as '+1 more', whichever batch the two came in."""
    signals = NewsSignals("Europe/London")
    with session_scope(engine) as session:
        background = [
            entry(f"bg{i}", title, minutes=-600 + i)
            for i, title in enumerate(
                [
                    "EU fishing quotas agreed",
                    "Oil prices fall on demand fears",
                    "Japan exports rise in May",
                    "Mexico steel output slips",
                ]
            )
        ]
        take_batch(
            session,
            [parsed(session, "AP", *background)],
            topics(session),
            followers(session, NOW),
            [signals],
        )
    with session_scope(engine) as session:
        batch = [
            parsed(
                session,
                "Reuters",
                entry("r1", "US, China officials meet in London to defuse trade war", "trade"),
            ),
            parsed(
                session,
                "BBC",
                entry(
                    "b1",
                    "Trade talks between Washington and Beijing get under way in London",
                    "trade",
                    minutes=30,
                ),
            ),
        ]
        taken = take_batch(session, batch, topics(session), followers(session, NOW), [signals])
        sent = news(session)
    assert [(t.new, t.alerts) for t in taken] == [(1, 1), (1, 0)]
    assert sent == [
        (ADA, "US, China officials meet in London to defuse trade war", "Reuters", ["BBC"])
    ]


def test_a_failing_hook_keeps_items_and_alerts(engine: Engine) -> None:
    def broken(session: Session, items: list[Item], now: datetime) -> set[int]:
        session.add(Topic(slug="half-written", title="x", query="x"))
        session.flush()
        raise RuntimeError("hook bug")

    with session_scope(engine) as session:
        batch = [parsed(session, "Reuters", entry("a", "Chip curbs", "chips"))]
        taken = take_batch(session, batch, topics(session), followers(session, NOW), [broken])
    with session_scope(engine) as session:
        slugs = session.exec(select(Topic.slug)).all()
        sent = news(session)
    assert [(t.new, t.alerts) for t in taken] == [(1, 2)]
    assert len(sent) == 2 and "half-written" not in slugs


def test_a_digest_crosses_processes_unchanged() -> None:
    """Digests travel from the workers as tuples; every field must come back as it was."""
    import pickle

    dated = entry("a", "Chip curbs", "chips", "trade")
    undated = (
        "b",
        ParsedItem(
            guid=None,
            link=None,
            title="No date",
            summary="s",
            published=None,
            source_name="AP",
            author="Ada",
        ),
        (),
    )
    odd = (
        "c",
        ParsedItem(
            guid="g",
            link="l",
            title="t",
            summary="",
            published=datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        ("x",),
    )
    digest = ParsedFeed("Feed", 3, (dated, undated, odd))
    back = pickle.loads(pickle.dumps(digest, pickle.HIGHEST_PROTOCOL))  # noqa: S301 our own bytes, round-tripped
    assert back == digest
    assert all(i.published is None or i.published.tzinfo is UTC for _, i, _ in back.items)


def test_followers_are_read_only_for_the_topics_a_batch_alerts_on(engine: Engine) -> None:
    """A baseline batch reads no follower; a loud one reads the topics it matched, once each,
    and alerts exactly as with every follower read ahead."""
    with session_scope(engine) as session:
        quiet = FollowersOnDemand(session, NOW)
        baseline = [parsed(session, "AP", entry("z", "Chip fab opens", "chips"), baseline=True)]
        take_batch(session, baseline, topics(session), quiet)
        loud = FollowersOnDemand(session, NOW)
        batch = [
            parsed(
                session,
                "Reuters",
                entry("a", "Chip curbs", "chips"),
                entry("b", "More chip curbs", "chips"),
            )
        ]
        take_batch(session, batch, topics(session), loud)
        chips = topics(session)["chips"].id
        sent = news(session)
    assert len(quiet) == 0
    assert dict(loud) == {chips: [ADA, BEN]}
    assert sorted((chat, title) for chat, title, _, _ in sent) == [
        (ADA, "Chip curbs"),
        (ADA, "More chip curbs"),
        (BEN, "Chip curbs"),
        (BEN, "More chip curbs"),
    ]


def test_followers_on_demand_leave_out_muted_and_unknown_topics(engine: Engine) -> None:
    with session_scope(engine) as session:
        chips = topics(session)["chips"].id
        muted = session.exec(
            select(TopicSubscription).where(TopicSubscription.chat_id == BEN)
        ).one()
        muted.muted_until = NOW + timedelta(hours=1)
        session.add(muted)
        session.flush()
        during, after = (
            FollowersOnDemand(session, NOW),
            FollowersOnDemand(session, NOW + timedelta(hours=2)),
        )
        assert during[chips] == [ADA]
        assert after[chips] == [ADA, BEN]
        assert during.get(99_999) == []
