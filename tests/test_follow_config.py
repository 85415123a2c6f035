"""Following what config.yaml ships: every auto-following chat, in bulk, without touching
what a chat already set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.config import parse_config
from bot.services import chats
from bot.services.config_sync import sync_config
from bot.store.bulk import KEYS_PER_IN
from bot.store.db import session_scope
from bot.store.models import Chat, Deadline, DeadlineSubscription, Topic, TopicSubscription

CONFIG = """
deadlines:
  - id: truce-ends
    title: Tariff truce ends
    due: 2030-08-12
  - id: talks
    title: Next round of talks
    due: 2030-09-01
topics:
  - id: tariffs
    title: Tariffs
    query: tariff OR tariffs
  - id: chips
    title: Chips
    query: semiconductor
"""
# More chats than one chunk of ids, so that chunking is exercised.
CHATS = KEYS_PER_IN + 120
FOLLOWING = range(1, CHATS + 1)
OPTED_OUT = 99_001  # auto_follow off
LATE = datetime(2031, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(engine: Engine) -> Engine:
    """Config synced once with no chats; then many auto-following chats and one opted out,
    one of them already following a deadline with its own offsets and muting a topic."""
    with session_scope(engine) as session:
        sync_config(session, parse_config(CONFIG))
    with session_scope(engine) as session:
        rows = [{"id": n, "kind": "private", "auto_follow": True} for n in FOLLOWING]
        rows.append({"id": OPTED_OUT, "kind": "private", "auto_follow": False})
        session.execute(insert(Chat), rows)
        truce = session.exec(select(Deadline.id).where(Deadline.slug == "truce-ends")).one()
        tariffs = session.exec(select(Topic.id).where(Topic.slug == "tariffs")).one()
        assert truce is not None and tariffs is not None
        session.add(DeadlineSubscription(chat_id=1, deadline_id=truce, remind=["3d"]))
        session.add(TopicSubscription(chat_id=1, topic_id=tariffs, muted_until=LATE))
        # Not from the config: never followed automatically.
        session.add(Topic(slug="mine", title="Mine", query="mine", origin="chat", owner_chat_id=1))
    return engine


def _pairs(engine: Engine) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    with session_scope(engine) as session:
        deadlines = session.exec(
            select(DeadlineSubscription.chat_id, Deadline.slug).join(
                Deadline, col(Deadline.id) == DeadlineSubscription.deadline_id
            )
        ).all()
        topics = session.exec(
            select(TopicSubscription.chat_id, Topic.slug).join(
                Topic, col(Topic.id) == TopicSubscription.topic_id
            )
        ).all()
    return set(deadlines), set(topics)


def test_every_auto_following_chat_follows_every_config_item(store: Engine) -> None:
    with session_scope(store) as session:
        added = chats.follow_config_items(session, chats.auto_follow_chat_ids(session))
    deadlines, topics = _pairs(store)
    assert deadlines == {(n, slug) for n in FOLLOWING for slug in ("truce-ends", "talks")}
    assert topics == {(n, slug) for n in FOLLOWING for slug in ("tariffs", "chips")}
    # Chat 1 already followed one deadline and one topic: those are not counted as added.
    assert added == (2 * CHATS - 1, 2 * CHATS - 1)


def test_what_a_chat_set_on_an_item_it_follows_is_kept(store: Engine) -> None:
    with session_scope(store) as session:
        chats.follow_config_items(session, [1, 2])
    with session_scope(store) as session:
        remind = session.exec(
            select(DeadlineSubscription.remind).where(DeadlineSubscription.chat_id == 1)
        ).all()
        muted = session.exec(
            select(TopicSubscription.muted_until).where(TopicSubscription.chat_id == 1)
        ).all()
    assert sorted(remind, key=repr) == [None, ["3d"]]
    assert sorted(muted, key=repr) == [None, LATE]


def test_config_deadlines_followed_in_bulk_take_the_chats_default_offsets(store: Engine) -> None:
    with session_scope(store) as session:
        chat = session.get(Chat, 2)
        assert chat is not None
        chat.default_remind = ["2d", "1h"]
        session.add(chat)
    with session_scope(store) as session:
        chats.follow_config_items(session, [2, 3])
    with session_scope(store) as session:
        rows = session.exec(
            select(DeadlineSubscription.chat_id, DeadlineSubscription.remind).where(
                col(DeadlineSubscription.chat_id).in_([2, 3])
            )
        ).all()
    assert sorted(rows, key=repr) == [(2, ["2d", "1h"]), (2, ["2d", "1h"]), (3, None), (3, None)]


def test_following_again_adds_nothing(store: Engine) -> None:
    with session_scope(store) as session:
        chats.follow_config_items(session, list(FOLLOWING))
    with session_scope(store) as session:
        assert chats.follow_config_items(session, list(FOLLOWING)) == (0, 0)


def test_cancelled_config_deadlines_are_not_followed(store: Engine) -> None:
    with session_scope(store) as session:
        talks = session.exec(select(Deadline).where(Deadline.slug == "talks")).one()
        talks.status = "cancelled"
        session.add(talks)
    with session_scope(store) as session:
        chats.follow_config_items(session, [2])
    deadlines, _ = _pairs(store)
    assert deadlines == {(1, "truce-ends"), (2, "truce-ends")}  # chat 1's was set up before


def test_config_sync_follows_in_a_few_statements_not_one_per_chat(store: Engine) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store, "before_cursor_execute", count)
    try:
        with session_scope(store) as session:
            sync_config(session, parse_config(CONFIG))
    finally:
        event.remove(store, "before_cursor_execute", count)
    inserts = [s for s in statements if "_subscription" in s and s.lstrip().startswith("INSERT")]
    # One INSERT … SELECT per table per chunk of KEYS_PER_IN chats.
    assert len(inserts) == 2 * -(-CHATS // KEYS_PER_IN)
    deadlines, topics = _pairs(store)
    assert len(deadlines) == len(topics) == 2 * CHATS
    assert all(chat != OPTED_OUT for chat, _ in deadlines | topics)
