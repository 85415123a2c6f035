"""Reminders across DST changes, in another chat zone, and for repeating deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import render
from bot.config import parse_config
from bot.services import chats
from bot.services import deadlines as deadline_ops
from bot.services.config_sync import sync_config
from bot.services.deadlines import DeadlineSpec
from bot.services.outbox import OutboxSignal
from bot.store.db import session_scope
from bot.store.models import Deadline, DeadlineSubscription
from jobs.reminders import Follower, ReminderJobs, effective_offsets, reminder_times
from tests.helpers import outbox


def times_of(due: datetime, zone: str, remind: list[str]) -> dict[str, datetime]:
    deadline = Deadline(
        id=1,
        slug="x",
        title="X",
        due_at=due,
        timezone=zone,
        remind=remind,
        reminded_until=due - timedelta(days=60),
    )
    follower = Follower(1, effective_offsets(remind, None), due - timedelta(days=90))
    return {t.offset.text: t.fire_at for t in reminder_times(deadline, [follower])}


@pytest.mark.parametrize(
    ("zone", "due_utc", "expected_1d_utc", "expected_7d_utc"),
    [
        # London springs forward on 30 Mar 2025: 09:00 BST on 31 Mar is 08:00 UTC; 1 day before
        # is 09:00 BST on 30 Mar (08:00 UTC), 7 days before is 09:00 GMT on 24 Mar (09:00 UTC).
        (
            "Europe/London",
            datetime(2025, 3, 31, 8, 0, tzinfo=UTC),
            datetime(2025, 3, 30, 8, 0, tzinfo=UTC),
            datetime(2025, 3, 24, 9, 0, tzinfo=UTC),
        ),
        # London falls back on 26 Oct 2025: 09:00 GMT on 27 Oct; 7 days before is 09:00 BST.
        (
            "Europe/London",
            datetime(2025, 10, 27, 9, 0, tzinfo=UTC),
            datetime(2025, 10, 26, 9, 0, tzinfo=UTC),
            datetime(2025, 10, 20, 8, 0, tzinfo=UTC),
        ),
        # New York springs forward on 9 Mar 2025: 12:00 EDT on 10 Mar is 16:00 UTC.
        (
            "America/New_York",
            datetime(2025, 3, 10, 16, 0, tzinfo=UTC),
            datetime(2025, 3, 9, 16, 0, tzinfo=UTC),
            datetime(2025, 3, 3, 17, 0, tzinfo=UTC),
        ),
        # New York falls back on 2 Nov 2025: 12:00 EST on 3 Nov is 17:00 UTC.
        (
            "America/New_York",
            datetime(2025, 11, 3, 17, 0, tzinfo=UTC),
            datetime(2025, 11, 2, 17, 0, tzinfo=UTC),
            datetime(2025, 10, 27, 16, 0, tzinfo=UTC),
        ),
    ],
)
def test_day_offsets_keep_the_wall_time_across_dst(
    zone: str, due_utc: datetime, expected_1d_utc: datetime, expected_7d_utc: datetime
) -> None:
    fired = times_of(due_utc, zone, ["7d", "1d", "1h"])
    assert fired["1d"] == expected_1d_utc
    assert fired["7d"] == expected_7d_utc
    assert fired["1h"] == due_utc - timedelta(hours=1)


def test_reminder_is_shown_in_the_chat_zone_not_the_event_zone() -> None:
    due = datetime(2025, 7, 9, 16, 0, tzinfo=UTC)  # 17:00 London
    payload = {
        "slug": "uk-us",
        "title": "UK–US deal",
        "due_at": due.isoformat(),
        "timezone": "Europe/London",
        "offset": "1d",
        "late": False,
    }
    tokyo = render.alert("reminder", payload, "Asia/Tokyo", due - timedelta(days=1))
    london = render.alert("reminder", payload, "Europe/London", due - timedelta(days=1))
    assert "Due Thu 10 Jul 2025, 01:00 JST (in 1 day)" in tokyo.text
    assert "Due Wed 9 Jul 2025, 17:00 BST (in 1 day)" in london.text


async def test_reminder_fires_at_its_time_across_the_october_change(engine: Engine) -> None:
    due = datetime(2025, 10, 27, 9, 0, tzinfo=UTC)  # Monday 09:00 GMT, after the change
    with time_machine.travel(datetime(2025, 10, 20, 12, 0, tzinfo=UTC), tick=False) as clock:
        with session_scope(engine) as session:
            chats.register(session, 5, kind="private", title=None, auto_follow=False)
            spec = DeadlineSpec(
                slug="vote", title="Vote", due_at=due, timezone="Europe/London", remind=("1d",)
            )
            deadline = deadline_ops.create(session, spec, origin="chat", owner_chat_id=5, actor="t")
            deadline_ops.follow(session, 5, deadline)
            deadline_id = deadline.id
        assert deadline_id is not None
        jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal())
        jobs.rebuild()
        job = jobs.scheduler.get_job(f"deadline:{deadline_id}")
        assert job is not None and job.trigger.run_date == datetime(2025, 10, 26, 9, 0, tzinfo=UTC)

        clock.move_to(datetime(2025, 10, 26, 8, 59, 59, tzinfo=UTC))
        await jobs.run(deadline_id)  # a second early: nothing is due yet
        assert outbox(engine) == []
        clock.move_to(datetime(2025, 10, 26, 9, 0, 1, tzinfo=UTC))
        await jobs.run(deadline_id)
        await jobs.run(deadline_id)  # a doubled job writes nothing more
        assert [(a.kind, a.payload["offset"], a.payload["late"]) for a in outbox(engine)] == [
            ("reminder", "1d", False)
        ]
        clock.move_to(due + timedelta(seconds=1))
        await jobs.run(deadline_id)
        assert [a.kind for a in outbox(engine)] == ["reminder", "deadline_reached"]
        assert jobs.scheduler.get_job(f"deadline:{deadline_id}") is None


REPEATING = """
timezone: Europe/London
deadlines:
  - id: us-jobs-report
    title: US employment report
    due: 2025-01-03T08:30
    timezone: America/New_York
    repeat: FREQ=MONTHLY;BYDAY=1FR
    remind: [1h]
"""


async def test_repeating_deadline_reminds_for_each_occurrence(engine: Engine) -> None:
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        with session_scope(engine) as session:
            sync_config(session, parse_config(REPEATING))
            chats.register(session, 9, kind="private", title=None, auto_follow=True)
            deadline = session.exec(select(Deadline)).one()
            # First Friday of March 2026 is the 6th; 08:30 EST is 13:30 UTC.
            assert deadline.due_at == datetime(2026, 3, 6, 13, 30, tzinfo=UTC)
            deadline_id = deadline.id
        assert deadline_id is not None
        jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal())
        jobs.rebuild()
        for moment in (
            datetime(2026, 3, 6, 12, 30, 1, tzinfo=UTC),
            datetime(2026, 3, 6, 13, 30, 1, tzinfo=UTC),
        ):
            clock.move_to(moment)
            await jobs.run(deadline_id)
        with session_scope(engine) as session:
            moved_on = session.get(Deadline, deadline_id)
            assert moved_on is not None
            # April's first Friday is the 3rd; 08:30 EDT (after the US change) is 12:30 UTC.
            assert moved_on.due_at == datetime(2026, 4, 3, 12, 30, tzinfo=UTC)
        clock.move_to(datetime(2026, 4, 3, 11, 30, 1, tzinfo=UTC))
        await jobs.run(deadline_id)
    keys = [(a.kind, a.payload["due_at"], a.payload["offset"]) for a in outbox(engine)]
    assert keys == [
        ("reminder", "2026-03-06T13:30:00+00:00", "1h"),
        ("deadline_reached", "2026-03-06T13:30:00+00:00", "0"),
        ("reminder", "2026-04-03T12:30:00+00:00", "1h"),
    ]
    with session_scope(engine) as session:
        assert len(session.exec(select(DeadlineSubscription)).all()) == 1
