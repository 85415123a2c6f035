"""Settings on the store: the /settings menu's "reminders everywhere", and config.yaml's
deadlines brought into the store at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.config import parse_config
from bot.services import chats
from bot.services import deadlines as deadline_ops
from bot.services.config_sync import sync_config
from bot.services.deadlines import DeadlineSpec
from bot.services.settings import set_offsets_everywhere
from bot.store.db import session_scope
from bot.store.models import Deadline, DeadlineChange, DeadlineSubscription

DUE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _offsets(engine: Engine, chat_id: int) -> dict[int, list[str] | None]:
    with session_scope(engine) as session:
        subs = session.exec(
            select(DeadlineSubscription).where(DeadlineSubscription.chat_id == chat_id)
        )
        return {s.deadline_id: (list(s.remind) if s.remind is not None else None) for s in subs}


def test_offsets_everywhere_reach_every_followed_deadline_and_none_restores_their_own(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        for chat_id in (1, 2):
            chats.register(session, chat_id, kind="private", title=None, auto_follow=False)
        ids = []
        for slug in ("alpha", "beta", "gamma"):
            spec = DeadlineSpec(
                slug=slug, title=slug, due_at=DUE + timedelta(days=9), timezone="UTC"
            )
            deadline = deadline_ops.create(
                session, spec, origin="config", owner_chat_id=None, actor="t"
            )
            assert deadline.id is not None
            ids.append(deadline.id)
            if slug != "gamma":
                deadline_ops.follow(session, 1, deadline)
            deadline_ops.follow(session, 2, deadline)
    with session_scope(engine) as session:
        changed = set_offsets_everywhere(session, 1, ("2d", "3h"))
    assert sorted(changed) == ids[:2]  # only the deadlines chat 1 follows
    assert list(_offsets(engine, 1).values()) == [["2d", "3h"], ["2d", "3h"]]
    assert list(_offsets(engine, 2).values()) == [None] * 3  # the other chat is untouched
    with session_scope(engine) as session:
        assert sorted(set_offsets_everywhere(session, 1, None)) == ids[:2]
    assert list(_offsets(engine, 1).values()) == [None, None]


TWO_DEADLINES = """
timezone: UTC
deadlines:
  - id: kept
    title: Kept
    due: "2099-01-01T09:00"
  - id: dropped
    title: Dropped
    due: "2099-02-01T09:00"
"""


def test_a_deadline_removed_from_config_is_retired_once_with_its_history(engine: Engine) -> None:
    with session_scope(engine) as session:
        sync_config(session, parse_config(TWO_DEADLINES))
    one = TWO_DEADLINES.split("  - id: dropped")[0]
    with session_scope(engine) as session:
        sync_config(session, parse_config(one))
        sync_config(session, parse_config(one))  # already retired: nothing more
    with session_scope(engine) as session:
        status = {d.slug: d.status for d in session.exec(select(Deadline))}
        dropped = session.exec(select(Deadline).where(Deadline.slug == "dropped")).one()
        kinds = [
            c.kind
            for c in session.exec(
                select(DeadlineChange).where(DeadlineChange.deadline_id == dropped.id)
            )
        ]
    assert status == {"kept": "active", "dropped": "cancelled"}
    assert kinds.count("retired") == 1
