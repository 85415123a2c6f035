"""Signals from stored news items: stories, deadline links, proposals offered once, Track."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.services import chats, proposals
from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineSpec
from bot.services.outbox import NewAlert, enqueue
from bot.store.db import session_scope
from bot.store.models import (
    Alert,
    Deadline,
    DeadlineItem,
    Item,
    ItemTopic,
    Proposal,
    Story,
    Topic,
    TopicSubscription,
)
from jobs.signals.pipeline import NewsSignals, keyword_query

NOW = datetime(2025, 7, 10, 12, 0, tzinfo=UTC)
ANALYST, FOLLOWER = 1, 2


@pytest.fixture
def engine(engine: Engine) -> Engine:
    """The migrated store of conftest, with this file's rows in it."""
    with session_scope(engine) as session:
        for chat_id in (ANALYST, FOLLOWER):
            chats.register(session, chat_id, kind="private", title=None, auto_follow=False)
        topic = Topic(slug="us-china-tariffs", title="US–China tariffs", query="tariff")
        session.add(topic)
        session.flush()
        assert topic.id is not None
        session.add(TopicSubscription(chat_id=ANALYST, topic_id=topic.id))
        spec = DeadlineSpec(
            slug="truce",
            title="Tariff truce expiry",
            due_at=datetime(2025, 8, 12, 4, 1, tzinfo=UTC),
            timezone="America/New_York",
            keywords=("tariff truce",),
        )
        deadline = deadline_ops.create(
            session, spec, origin="config", owner_chat_id=None, actor="t"
        )
        deadline_ops.follow(session, FOLLOWER, deadline)
    return engine


def store(
    session: Session, title: str, source: str, *, minutes: int = 0, summary: str = ""
) -> Item:
    item = Item(
        key=f"k:{title}",
        title=title,
        summary=summary,
        source_name=source,
        link=f"https://{source.lower()}.example/{abs(hash(title))}",
        published_at=NOW + timedelta(minutes=minutes),
        fetched_at=NOW + timedelta(minutes=minutes),
    )
    session.add(item)
    session.flush()
    topic = session.exec(select(Topic)).one()
    assert item.id is not None and topic.id is not None
    session.add(ItemTopic(item_id=item.id, topic_id=topic.id))
    return item


def test_keyword_query_needs_every_word_of_a_keyword() -> None:
    assert keyword_query(['UK US "trade deal"', "steel tariffs", " ", "-(x: OR y)"]) == (
        '(UK US "trade deal") OR (steel tariffs) OR (x y)'
    )
    assert keyword_query([]) is None


def test_copies_join_the_first_story_and_its_waiting_alert(engine: Engine) -> None:
    signals = NewsSignals("Europe/London")
    with session_scope(engine) as session:
        # Background so word weights are meaningful, as in a running pipeline.
        warmup = [
            store(session, t, "Wire", minutes=-600 + i)
            for i, t in enumerate(
                [
                    "EU fishing quotas agreed",
                    "Oil prices fall on demand fears",
                    "Japan exports rise in June",
                    "Mexico steel output slips",
                ]
            )
        ]
        signals(session, warmup, NOW)
        first = store(session, "US, China officials meet in London to defuse trade war", "Reuters")
        signals(session, [first], NOW)
        enqueue(session, [NewAlert(ANALYST, f"news:{first.id}", "news", {"title": first.title}, 2)])
        copy = store(
            session,
            "Trade talks between Washington and Beijing get under way in London",
            "BBC",
            minutes=30,
        )
        other = store(session, "China rare earth exports fall 20% in May", "FT", minutes=40)
        signals(session, [copy, other], NOW)
    with session_scope(engine) as session:
        stories = {i.title: i.story_id for i in session.exec(select(Item))}
        first_story = session.get(Story, stories[first.title])
        alert = session.exec(select(Alert).where(Alert.dedup_key == f"news:{first.id}")).one()
    assert stories[first.title] == stories[copy.title] != stories[other.title]
    assert first_story is not None and (first_story.size, first_story.first_item_id) == (
        2,
        first.id,
    )
    assert alert.payload["more_sources"] == [{"name": "BBC", "link": copy.link}]


def test_found_deadline_is_offered_once_per_chat_and_track_adds_it(engine: Engine) -> None:
    signals = NewsSignals("Europe/London")
    with session_scope(engine) as session:
        a = store(
            session, "EU tariffs on US goods take effect from 1 August, officials say", "Reuters"
        )
        b = store(
            session, "Brussels confirms tariffs will take effect from August 1", "BBC", minutes=5
        )
        signals(session, [a, b], NOW)
    with session_scope(engine) as session:
        offered = session.exec(select(Proposal)).all()
        assert [(p.chat_id, p.kind, p.payload["date"]) for p in offered] == [
            (ANALYST, "news_deadline", "2025-08-01")
        ]
        alerts = session.exec(select(Alert).where(Alert.kind == "deadline_proposal")).all()
        assert [a.chat_id for a in alerts] == [ANALYST]
        assert offered[0].id is not None
        deadline, written = proposals.accept(session, offered[0].id, ANALYST, "ada")
    assert (deadline.origin, deadline.owner_chat_id, deadline.all_day, written) == (
        "news",
        ANALYST,
        True,
        0,
    )
    assert deadline.source_item_id == a.id
    assert deadline.due_at == datetime(2025, 7, 31, 23, 0, tzinfo=UTC)  # 00:00 on 1 Aug, London


def test_news_moving_a_config_deadline_is_a_suggestion_to_bot_admins(engine: Engine) -> None:
    signals = NewsSignals("Europe/London", admins=(ANALYST,))
    with session_scope(engine) as session:
        item = store(
            session,
            "Washington and Beijing agree: the tariff truce was extended to November 10",
            "AP",
        )
        signals(session, [item], NOW + timedelta(days=30))
    with session_scope(engine) as session:
        links = session.exec(select(DeadlineItem)).all()
        offered = session.exec(select(Proposal)).all()
        assert [link.item_id for link in links] == [item.id]
        assert [
            (p.chat_id, p.kind, p.payload["date"], p.payload["deadline_slug"]) for p in offered
        ] == [(ANALYST, "news_suggest", "2025-11-10", "truce")]
        assert offered[0].id is not None
        with pytest.raises(proposals.ProposalGone):
            proposals.accept(session, offered[0].id, ANALYST, "ann")
    with session_scope(engine) as session:
        truce = session.exec(select(Deadline).where(Deadline.slug == "truce")).one()
        assert truce.due_at == datetime(2025, 8, 12, 4, 1, tzinfo=UTC)  # changed only in config


def test_change_to_a_chats_own_deadline_is_offered_as_a_move_to_its_followers(
    engine: Engine,
) -> None:
    signals = NewsSignals("Europe/London", admins=(ANALYST,))
    with session_scope(engine) as session:
        truce = session.exec(select(Deadline).where(Deadline.slug == "truce")).one()
        truce.origin, truce.owner_chat_id = "chat", FOLLOWER
        session.add(truce)
    with session_scope(engine) as session:
        item = store(
            session,
            "Washington and Beijing agree: the tariff truce was extended to November 10",
            "AP",
        )
        signals(session, [item], NOW + timedelta(days=30))
    with session_scope(engine) as session:
        moves = session.exec(select(Proposal).where(Proposal.kind == "news_move")).all()
        assert [(p.chat_id, p.payload["date"], p.payload["deadline_slug"]) for p in moves] == [
            (FOLLOWER, "2025-11-10", "truce")
        ]
        assert moves[0].id is not None
        deadline, written = proposals.accept(session, moves[0].id, FOLLOWER, "ben")
    assert written == 1  # the follower is told of the move
    assert deadline.due_at == datetime(2025, 11, 10, 5, 0, tzinfo=UTC)
