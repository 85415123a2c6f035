"""Signals through the real poller: one alert per story, '+N more' for copies, a proposal once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.config import parse_config
from bot.services import chats
from bot.services.config_sync import sync_config
from bot.services.sources import sync_sources
from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import Alert, DeadlineItem, Item, Proposal
from jobs.signals.pipeline import NewsSignals
from jobs.sources.fetch import Fetcher
from jobs.sources.poll import Poller
from tests.feed_server import FeedServer, Route, rss

ADA = 4242
T0 = datetime(2025, 6, 9, 8, 0, tzinfo=UTC)
BACKGROUND = [
    ("r0", "EU fishing quotas agreed after long night", T0 - timedelta(hours=30)),
    ("r1", "Oil prices fall on demand fears", T0 - timedelta(hours=29)),
    ("r2", "Japan exports rise in May", T0 - timedelta(hours=28)),
]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
async def poller(server: FeedServer, database_url: str) -> AsyncIterator[tuple[Engine, Poller]]:
    config = parse_config(
        "timezone: Europe/London\n"
        "deadlines:\n"
        "  - {id: london-talks, title: US–China talks in London, due: '2025-06-09T10:00',"
        " keywords: [talks London, US China London]}\n"
        "topics:\n  - {id: trade, title: US–China trade, query: 'trade OR tariffs OR talks'}\n"
        f"sources:\n  - {{url: '{server.url('/reuters.xml')}', name: Reuters}}\n"
        f"  - {{url: '{server.url('/bbc.xml')}', name: BBC}}\n"
    )
    server.set("/reuters.xml", Route(body=rss(BACKGROUND)))
    server.set("/bbc.xml", Route(body=rss([])))
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        sync_config(session, config)
        sync_sources(session, config.sources, T0 - timedelta(minutes=1))
        chats.register(session, ADA, kind="private", title=None, auto_follow=True)
    async with Fetcher() as fetcher:
        running = Poller(engine, fetcher, after_store=[NewsSignals("Europe/London")])
        await running.run_due(T0)  # the baseline
        yield engine, running
    engine.dispose()


def news_alerts(engine: Engine) -> list[Alert]:
    with session_scope(engine) as session:
        return list(
            session.exec(select(Alert).where(Alert.kind == "news").order_by(col(Alert.id))).all()
        )


async def test_one_alert_per_story_with_later_copies_named(
    poller: tuple[Engine, Poller], server: FeedServer
) -> None:
    engine, running = poller
    first = (
        "r9",
        "US, China officials meet in London to defuse trade war",
        T0 + timedelta(minutes=5),
    )
    server.set("/reuters.xml", Route(body=rss([first, *BACKGROUND])))
    await running.run_due(T0 + timedelta(minutes=20))  # both sources are due again (every 15 min)
    copy = (
        "b1",
        "Trade talks between Washington and Beijing get under way in London",
        T0 + timedelta(minutes=30),
    )
    server.set("/bbc.xml", Route(body=rss([copy])))
    await running.run_due(T0 + timedelta(minutes=40))

    written = news_alerts(engine)
    assert [a.payload["title"] for a in written] == [first[1]]
    assert [m["name"] for m in written[0].payload["more_sources"]] == ["BBC"]
    with session_scope(engine) as session:
        stories = {i.title: i.story_id for i in session.exec(select(Item))}
        linked = session.exec(select(DeadlineItem)).all()
    assert stories[first[1]] == stories[copy[1]] is not None
    assert len(linked) == 2  # one names US, China and London, the other talks and London


async def test_found_deadline_is_proposed_once_across_stories(
    poller: tuple[Engine, Poller], server: FeedServer
) -> None:
    engine, running = poller
    server.set(
        "/reuters.xml",
        Route(
            body=rss(
                [
                    (
                        "r10",
                        "EU tariffs on US goods take effect from 1 August",
                        T0 + timedelta(minutes=5),
                    ),
                    *BACKGROUND,
                ]
            )
        ),
    )
    await running.run_due(T0 + timedelta(minutes=20))
    server.set(
        "/bbc.xml",
        Route(
            body=rss(
                [
                    (
                        "b2",
                        "Japan says its trade envoy will return; tariffs take effect from August 1",
                        T0 + timedelta(hours=3),
                    ),
                ]
            )
        ),
    )
    await running.run_due(T0 + timedelta(hours=4))
    with session_scope(engine) as session:
        offered = session.exec(select(Proposal)).all()
        proposal_alerts = session.exec(select(Alert).where(Alert.kind == "deadline_proposal")).all()
    assert [(p.chat_id, p.payload["date"]) for p in offered] == [(ADA, "2025-08-01")]
    assert len(proposal_alerts) == 1
    # The proposal names the thing that is due, not the clause around the date.
    assert offered[0].payload["what"] == "EU tariffs on US goods"
