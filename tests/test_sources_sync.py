"""Source rows from config.yaml and from chats: a resync keeps each row, moves a changed or
revived source to the front of the queue, retires what the config dropped, and skips what it
cannot read; adding a retired source again revives it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import SourceConfig
from bot.domain.source_kinds import source_spec
from bot.services.sources import NewSource, SourceSync, add_sources, sync_sources
from bot.store.db import session_scope
from bot.store.models import Source
from tests.helpers import utc

T0 = utc(2026, 3, 2, 9)
LATER = T0 + timedelta(hours=6)  # when the poller had scheduled each source next
WIRE = SourceConfig(url="https://wire.example/feed.xml", name="Wire")
DESK = SourceConfig(url="https://desk.example/feed.xml", name="Desk")


def sync(engine: Engine, configs: list[SourceConfig], now: datetime) -> SourceSync:
    with session_scope(engine) as session:
        return sync_sources(session, configs, now)


def rows(engine: Engine) -> dict[str, Source]:
    with session_scope(engine) as session:
        found = session.exec(select(Source)).all()
        session.expunge_all()
        return {str(row.name): row for row in found}


def schedule_all(engine: Engine, when: datetime) -> None:
    """What the poller does after a check: the next one is due at `when`."""
    with Session(engine) as session:
        for row in session.exec(select(Source)).all():
            row.next_check_at = when
            session.add(row)
        session.commit()


def test_a_resync_keeps_an_unchanged_source_waiting_and_moves_a_new_period_to_now(
    engine: Engine,
) -> None:
    assert sync(engine, [WIRE, DESK], T0) == SourceSync(created=2, updated=0, retired=0)
    before = rows(engine)
    schedule_all(engine, LATER)
    slower = DESK.model_copy(update={"every": 1800})

    now = T0 + timedelta(minutes=10)
    assert sync(engine, [WIRE, slower], now) == SourceSync(created=0, updated=2, retired=0)

    after = rows(engine)
    assert {name: row.id for name, row in after.items()} == {
        name: row.id for name, row in before.items()
    }
    assert after["Wire"].next_check_at == LATER
    assert (after["Desk"].next_check_at, after["Desk"].every_s) == (now, 1800)


def test_a_source_dropped_from_config_is_retired_once_and_revived_at_once_when_listed_again(
    engine: Engine,
) -> None:
    sync(engine, [WIRE, DESK], T0)
    assert sync(engine, [WIRE], T0) == SourceSync(created=0, updated=1, retired=1)
    assert not rows(engine)["Desk"].active
    assert sync(engine, [WIRE], T0) == SourceSync(created=0, updated=1, retired=0)

    schedule_all(engine, LATER)
    now = T0 + timedelta(hours=1)
    assert sync(engine, [WIRE, DESK], now) == SourceSync(created=0, updated=2, retired=0)
    desk = rows(engine)["Desk"]
    assert desk.active and desk.next_check_at == now
    assert rows(engine)["Wire"].next_check_at == LATER


def test_a_config_source_that_cannot_be_built_is_skipped_and_logged(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # Valid as config (one kind, a query), refused when the Google News URL is built.
    bad = SourceConfig(google_news="rare earth exports", region="GBR", name="Bad region")
    with caplog.at_level(logging.WARNING, logger="bot.services.sources"):
        assert sync(engine, [bad, WIRE], T0) == SourceSync(created=1, updated=0, retired=0)
    assert list(rows(engine)) == ["Wire"]
    assert "config source skipped" in caplog.text and "GBR" in caplog.text


def test_one_page_read_with_two_selectors_is_two_sources(engine: Engine) -> None:
    page = "https://ministry.example/press"
    headlines = SourceConfig(page=page, select="h2 a", name="Headlines")
    notices = SourceConfig(page=page, select=".notice a", name="Notices")
    assert sync(engine, [headlines, notices], T0).created == 2
    found = rows(engine)
    assert found["Headlines"].key == f"page:{page} select=h2 a"
    assert found["Notices"].key == f"page:{page} select=.notice a"


def test_adding_a_retired_source_again_revives_it_instead_of_adding_a_copy(
    engine: Engine,
) -> None:
    feed = NewSource(source_spec(url="https://blog.example/rss"), "Blog")
    with session_scope(engine) as session:
        assert add_sources(session, [feed], origin="chat", trusted=False, now=T0) == (1, 0)
    with Session(engine) as session:
        [row] = session.exec(select(Source)).all()
        row.active, row.next_check_at = False, LATER
        session.add(row)
        session.commit()

    now = T0 + timedelta(hours=1)
    with session_scope(engine) as session:
        assert add_sources(session, [feed], origin="chat", trusted=False, now=now) == (0, 1)
    [blog] = rows(engine).values()
    assert blog.active and blog.next_check_at == now
