"""Reminder decisions: on time, late after downtime, summed up when passed, never before following."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.services import chats
from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineSpec
from bot.services.outbox import PRIORITY_NORMAL, PRIORITY_URGENT, OutboxSignal
from bot.store.db import session_scope
from bot.store.models import Alert, Chat, Deadline, DeadlineSubscription
from jobs.reminders import (
    Follower,
    ReminderJobs,
    due_reminders,
    effective_offsets,
    load_followers,
    next_fire_at,
    offline_summary_alerts,
    process,
    reminder_times,
)

DUE = datetime(2025, 7, 9, 16, 0, tzinfo=UTC)  # 17:00 in London (BST)


def make_deadline(**overrides: object) -> Deadline:
    fields: dict[str, object] = {
        "id": 7,
        "slug": "uk-us",
        "title": "UK–US deal",
        "due_at": DUE,
        "timezone": "Europe/London",
        "remind": ["7d", "1d", "1h", "0"],
        "reminded_until": DUE - timedelta(days=30),
    }
    fields.update(overrides)
    return Deadline(**fields)  # type: ignore[arg-type]


def follower(
    chat_id: int, remind: list[str] | None = None, since: datetime | None = None
) -> Follower:
    return Follower(
        chat_id,
        effective_offsets(["7d", "1d", "1h", "0"], remind),
        since or DUE - timedelta(days=60),
    )


def test_reminder_on_time_is_one_alert_with_a_stable_key() -> None:
    now = DUE - timedelta(days=1) + timedelta(seconds=1)
    result = due_reminders(
        make_deadline(reminded_until=now - timedelta(seconds=5)), [follower(1)], now
    )
    assert [(a.chat_id, a.kind, a.dedup_key, a.payload["late"]) for a in result.alerts] == [
        (1, "reminder", f"r:7:{int(DUE.timestamp())}:1d", False)
    ]
    assert result.missed == {}


def test_offsets_are_calendar_days_in_the_event_zone_across_dst() -> None:
    # 1 Nov 2025 09:00 New York (EDT); clocks go back on 2 Nov. 7 days before 8 Nov 09:00 EST
    # is 1 Nov 09:00 EDT, which is 13:00 UTC, not 14:00.
    due = datetime(2025, 11, 8, 14, 0, tzinfo=UTC)
    deadline = make_deadline(due_at=due, timezone="America/New_York")
    times = {t.offset.text: t.fire_at for t in reminder_times(deadline, [follower(1)])}
    assert times["7d"] == datetime(2025, 11, 1, 13, 0, tzinfo=UTC)
    assert times["1d"] == datetime(2025, 11, 7, 14, 0, tzinfo=UTC)
    assert times["1h"] == datetime(2025, 11, 8, 13, 0, tzinfo=UTC)


def test_chat_offsets_override_the_deadline_and_always_include_due_time() -> None:
    assert [o.text for o in effective_offsets(["7d", "1d"], ["2h"])] == ["2h", "0"]
    assert [o.text for o in effective_offsets(["7d"], None)] == ["7d", "0"]


def test_no_reminder_for_a_time_before_the_chat_followed() -> None:
    now = DUE - timedelta(days=1) + timedelta(seconds=1)
    late_follower = follower(2, since=now)  # followed after the 1d reminder time had passed
    result = due_reminders(
        make_deadline(reminded_until=now - timedelta(seconds=5)), [late_follower], now
    )
    assert result.alerts == []


def test_downtime_with_deadline_ahead_sends_latest_missed_once_marked_late() -> None:
    now = DUE - timedelta(hours=3)  # was down from 10 days before until 3 h before
    result = due_reminders(
        make_deadline(reminded_until=DUE - timedelta(days=10)), [follower(1)], now
    )
    assert len(result.alerts) == 1
    alert = result.alerts[0]
    assert alert.payload["offset"] == "1d"
    assert alert.payload["late"] is True
    assert alert.payload["missed_offsets"] == ["7d"]


def test_downtime_past_the_deadline_is_summed_up_not_sent_one_by_one() -> None:
    now = DUE + timedelta(days=2)
    result = due_reminders(
        make_deadline(reminded_until=DUE - timedelta(days=3)), [follower(1), follower(2)], now
    )
    assert result.alerts == []
    assert sorted(result.missed) == [1, 2]
    assert [item["offset"] for item in result.missed[1]] == ["1d", "1h", "0"]


def test_next_fire_time_skips_past_ones() -> None:
    times = reminder_times(make_deadline(), [follower(1)])
    assert next_fire_at(times, DUE - timedelta(days=2)) == DUE - timedelta(days=1)
    assert next_fire_at(times, DUE) is None


async def test_rebuild_after_downtime_writes_one_offline_summary_per_chat(engine) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for chat_id in (1, 2):
            chats.register(session, chat_id, kind="private", title=None, auto_follow=False)
        for slug, days_ago in (("a", 2), ("b", 3)):
            spec = DeadlineSpec(
                slug=slug,
                title=slug.upper(),
                due_at=now - timedelta(days=days_ago),
                timezone="UTC",
                remind=("1d", "0"),
            )
            deadline = deadline_ops.create(
                session, spec, origin="config", owner_chat_id=None, actor="test"
            )
            deadline.reminded_until = now - timedelta(days=10)
            for chat_id in (1, 2):
                deadline_ops.follow(session, chat_id, deadline)
    with session_scope(engine) as session:  # the subscriptions are older than the reminders
        for sub in session.exec(select(DeadlineSubscription)):
            sub.created_at = now - timedelta(days=20)
            session.add(sub)
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal())
    jobs.rebuild()
    jobs.rebuild()  # a second start-up writes nothing more
    with session_scope(engine) as session:
        alerts = session.exec(select(Alert).order_by(col(Alert.chat_id))).all()
    assert [(a.chat_id, a.kind) for a in alerts] == [(1, "offline_summary"), (2, "offline_summary")]
    assert sorted({i["slug"] for i in alerts[0].payload["items"]}) == ["a", "b"]


async def test_moving_a_deadline_cancels_pending_reminders_and_tells_followers(engine) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        chats.register(session, 1, kind="private", title=None, auto_follow=False)
        spec = DeadlineSpec(
            slug="truce", title="Truce", due_at=now + timedelta(hours=2), timezone="UTC"
        )
        deadline = deadline_ops.create(
            session, spec, origin="config", owner_chat_id=None, actor="test"
        )
        deadline_ops.follow(session, 1, deadline)
        session.add(
            Alert(
                chat_id=1,
                dedup_key=f"r:{deadline.id}:{int(spec.due_at.timestamp())}:1h",
                kind="reminder",
                payload={},
            )
        )
    with session_scope(engine) as session:
        deadline = deadline_ops.find(session, "truce", 1)
        written = deadline_ops.move(
            session, deadline, now + timedelta(days=90), all_day=False, actor="test"
        )
    assert written == 1
    with session_scope(engine) as session:
        rows = {(a.kind, a.status) for a in session.exec(select(Alert))}
        history = deadline_ops.history(session, deadline.id or 0)
    assert rows == {("reminder", "cancelled"), ("deadline_changed", "pending")}
    assert [h.kind for h in history] == ["moved", "created"]


async def test_a_failed_pass_is_logged_for_its_deadline_and_retried_not_lost(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal())
    frozen = datetime(2026, 1, 1, tzinfo=UTC)
    jobs.clock = lambda: frozen

    def locked(deadline_id: int, now: datetime) -> tuple[int, datetime | None]:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(jobs, "_write_due", locked)
    with caplog.at_level(logging.ERROR, logger="jobs.reminders"):
        await jobs.run(42)
    job = jobs.scheduler.get_job("deadline:42")
    assert job is not None and job.trigger.run_date == frozen + timedelta(seconds=5)
    [record] = caplog.records
    assert record.getMessage() == "reminders of deadline 42 failed; retrying in 5 s"
    assert record.__dict__["deadline"] == 42 and record.exc_info is not None


def test_a_reminder_within_the_last_hour_is_urgent_and_one_before_is_not() -> None:
    deadline = make_deadline(remind=["2h", "1h"])
    since = DUE - timedelta(hours=3)
    late = due_reminders(
        make_deadline(remind=["2h", "1h"], reminded_until=since),
        [follower(1, ["2h", "1h"])],
        DUE - timedelta(minutes=59),
    )
    early = due_reminders(
        deadline.model_copy(update={"reminded_until": since}),
        [follower(1, ["2h", "1h"])],
        DUE - timedelta(hours=2),
    )
    assert early.alerts and {a.priority for a in early.alerts} == {PRIORITY_NORMAL}
    assert late.alerts and {a.priority for a in late.alerts} == {PRIORITY_URGENT}


async def test_refresh_keeps_a_job_whose_time_passed_before_it_ran(engine: Engine) -> None:
    """A change handled just after a reminder time, before its job ran, must not drop it."""
    due = datetime(2026, 3, 2, 12, 0, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        chats.register(session, 1, kind="private", title=None, auto_follow=False)
        spec = DeadlineSpec(slug="soon", title="Soon", due_at=due, timezone="UTC", remind=())
        deadline = deadline_ops.create(session, spec, origin="chat", owner_chat_id=1, actor="t")
        deadline.reminded_until = due - timedelta(seconds=2)
        deadline_ops.follow(session, 1, deadline)
        deadline_id = deadline.id
    with session_scope(engine) as session:  # followed before the due time
        for sub in session.exec(select(DeadlineSubscription)):
            sub.created_at = due - timedelta(seconds=2)
            session.add(sub)
    assert deadline_id is not None
    # The due time has passed; the job has not run.
    jobs = ReminderJobs(
        engine,
        AsyncIOScheduler(timezone=UTC),
        OutboxSignal(),
        clock=lambda: due + timedelta(seconds=1),
    )
    jobs.refresh(deadline_id)
    job = jobs.scheduler.get_job(f"deadline:{deadline_id}")
    assert job is not None and job.trigger.run_date == due
    await jobs.run(deadline_id)
    with session_scope(engine) as session:
        assert [a.kind for a in session.exec(select(Alert))] == ["deadline_reached"]


def test_a_reminder_due_exactly_now_is_sent_in_that_pass_and_never_again() -> None:
    """The window is (reminded_until, now]: a pass at the very fire time must include it,
    since that pass moves the watermark to now and no later pass looks back."""
    deadline = make_deadline(reminded_until=DUE - timedelta(days=1, seconds=5))
    at_fire_time = DUE - timedelta(days=1)
    first = process(deadline, [follower(1)], at_fire_time)
    assert [(a.payload["offset"], a.payload["late"]) for a in first.alerts] == [("1d", False)]
    assert deadline.reminded_until == at_fire_time
    assert process(deadline, [follower(1)], at_fire_time + timedelta(seconds=1)).alerts == []


def test_a_pass_a_microsecond_early_sends_nothing_yet() -> None:
    deadline = make_deadline(reminded_until=DUE - timedelta(days=1, seconds=5))
    early = DUE - timedelta(days=1, microseconds=1)
    assert due_reminders(deadline, [follower(1)], early).alerts == []


@pytest.mark.parametrize("entry", ["run", "rebuild"])
async def test_the_job_or_a_start_up_at_exactly_the_fire_time_writes_the_reminder(
    engine: Engine, entry: str
) -> None:
    due = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        chats.register(session, 1, kind="private", title=None, auto_follow=False)
        spec = DeadlineSpec(slug="exact", title="Exact", due_at=due, timezone="UTC", remind=())
        deadline = deadline_ops.create(session, spec, origin="chat", owner_chat_id=1, actor="t")
        deadline.reminded_until = due - timedelta(hours=1)
        deadline_ops.follow(session, 1, deadline)
        deadline_id = deadline.id
    with session_scope(engine) as session:  # followed well before the deadline
        for sub in session.exec(select(DeadlineSubscription)):
            sub.created_at = due - timedelta(days=1)
            session.add(sub)
    assert deadline_id is not None
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: due)
    if entry == "run":
        await jobs.run(deadline_id)
    else:
        jobs.rebuild()
    jobs.clock = lambda: due + timedelta(seconds=1)
    await jobs.run(deadline_id)
    with session_scope(engine) as session:
        assert [(a.kind, a.payload["late"]) for a in session.exec(select(Alert))] == [
            ("deadline_reached", False)
        ]


T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def stored_deadline(
    engine: Engine,
    slug: str,
    due: datetime,
    *,
    followed: bool = True,
    rule: str | None = None,
    remind: tuple[str, ...] = ("1d", "0"),
) -> int:
    """A deadline in the store, followed by chat 1 since long before (unless not `followed`)."""
    with session_scope(engine) as session:
        chats.register(session, 1, kind="private", title=None, auto_follow=False)
        spec = DeadlineSpec(
            slug=slug,
            title=slug.title(),
            due_at=due,
            timezone="UTC",
            remind=remind,
            rule=rule,
            rule_start=due if rule else None,
        )
        deadline = deadline_ops.create(session, spec, origin="chat", owner_chat_id=1, actor="t")
        deadline.reminded_until = due - timedelta(days=30)
        if followed:
            deadline_ops.follow(session, 1, deadline)
        assert deadline.id is not None
        deadline_id = deadline.id
    with session_scope(engine) as session:
        for sub in session.exec(select(DeadlineSubscription)):
            sub.created_at = due - timedelta(days=60)
            session.add(sub)
    return deadline_id


def job_ids(jobs: ReminderJobs) -> list[str]:
    return sorted(job.id for job in jobs.scheduler.get_jobs())


def test_rebuild_counts_and_schedules_the_deadlines_with_a_reminder_ahead(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    ahead = stored_deadline(engine, "ahead", T0 + timedelta(days=3))
    later = stored_deadline(engine, "later", T0 + timedelta(days=9))
    stored_deadline(engine, "unfollowed", T0 + timedelta(days=3), followed=False)
    stored_deadline(engine, "gone-by", T0 - timedelta(days=3))
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    with caplog.at_level(logging.INFO, logger="jobs.reminders"):
        assert jobs.rebuild() == 2
    assert job_ids(jobs) == sorted([f"deadline:{ahead}", f"deadline:{later}"])
    assert "reminder jobs rebuilt: 2 scheduled, 1 alerts written" in caplog.messages


def test_rebuild_replaces_its_own_jobs_and_leaves_other_jobs_alone(engine: Engine) -> None:
    ahead = stored_deadline(engine, "ahead", T0 + timedelta(days=3))
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(print, "interval", hours=1, id="sources:poll")
    scheduler.add_job(print, "interval", hours=1, id="deadline:999")  # a deadline now gone
    jobs = ReminderJobs(engine, scheduler, OutboxSignal(), clock=lambda: T0)
    jobs.rebuild()
    jobs.rebuild()
    assert job_ids(jobs) == sorted([f"deadline:{ahead}", "sources:poll"])


async def test_the_job_of_a_cancelled_deadline_writes_nothing(engine: Engine) -> None:
    deadline_id = stored_deadline(engine, "called-off", T0 + timedelta(days=1))
    with session_scope(engine) as session:
        deadline = session.get(Deadline, deadline_id)
        assert deadline is not None
        deadline_ops.cancel(session, deadline, actor="t")
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    await jobs.run(deadline_id)
    with session_scope(engine) as session:  # only the news of the cancellation itself
        assert [a.kind for a in session.exec(select(Alert))] == ["deadline_changed"]
    assert job_ids(jobs) == []


def test_start_up_writes_a_reminder_due_exactly_then_without_waiting_for_its_job(
    engine: Engine,
) -> None:
    deadline_id = stored_deadline(engine, "exact", T0 + timedelta(days=1))
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    jobs.rebuild()
    with session_scope(engine) as session:
        assert [(a.kind, a.payload["offset"]) for a in session.exec(select(Alert))] == [
            ("reminder", "1d")
        ]
        deadline = session.get(Deadline, deadline_id)
        assert deadline is not None and deadline.reminded_until == T0


def test_start_up_moves_a_repeating_deadline_due_exactly_then_to_its_next_occurrence(
    engine: Engine,
) -> None:
    deadline_id = stored_deadline(engine, "weekly", T0, followed=False, rule="FREQ=WEEKLY")
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    jobs.rebuild()
    with session_scope(engine) as session:
        deadline = session.get(Deadline, deadline_id)
        assert deadline is not None
        assert deadline.due_at.replace(tzinfo=UTC) == T0 + timedelta(days=7)


def test_sync_refreshes_what_changed_after_the_rebuild_and_not_before(engine: Engine) -> None:
    before = stored_deadline(engine, "before", T0 + timedelta(days=3))
    after = stored_deadline(engine, "after", T0 + timedelta(days=3))
    with session_scope(engine) as session:
        for deadline_id, updated in ((before, T0 - timedelta(minutes=1)), (after, T0)):
            deadline = session.get(Deadline, deadline_id)
            assert deadline is not None
            deadline.updated_at = updated
            session.add(deadline)
    now = [T0 - timedelta(seconds=30)]
    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = ReminderJobs(engine, scheduler, OutboxSignal(), clock=lambda: now[0])
    jobs.rebuild()
    for job in scheduler.get_jobs():
        job.remove()
    now[0] = T0 + timedelta(minutes=1)
    assert jobs.sync_changed() == 1
    assert job_ids(jobs) == [f"deadline:{after}"]


def test_refresh_drops_the_job_of_a_cancelled_deadline_and_ignores_an_unknown_one(
    engine: Engine,
) -> None:
    keep = stored_deadline(engine, "keep", T0 + timedelta(days=3))
    drop = stored_deadline(engine, "drop", T0 + timedelta(days=3))
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    jobs.rebuild()
    assert job_ids(jobs) == sorted([f"deadline:{drop}", f"deadline:{keep}"])
    with session_scope(engine) as session:
        deadline = session.get(Deadline, drop)
        assert deadline is not None
        deadline_ops.cancel(session, deadline, actor="t")
    jobs.refresh(drop)
    assert job_ids(jobs) == [f"deadline:{keep}"]
    jobs.refresh(drop + 100)  # no such deadline (deleted): nothing to schedule
    assert job_ids(jobs) == [f"deadline:{keep}"]


def test_refresh_of_a_deadline_nobody_follows_schedules_nothing(engine: Engine) -> None:
    deadline_id = stored_deadline(engine, "alone", T0 + timedelta(days=3), followed=False)
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    jobs.refresh(deadline_id)
    assert job_ids(jobs) == []


def test_followers_are_loaded_with_their_own_offsets_or_the_deadlines(engine: Engine) -> None:
    deadline_id = stored_deadline(engine, "mixed", T0 + timedelta(days=3), remind=("1d", "0"))
    with session_scope(engine) as session:
        chats.register(session, 2, kind="private", title=None, auto_follow=False)
        deadline = session.get(Deadline, deadline_id)
        assert deadline is not None
        deadline_ops.follow(session, 2, deadline)
    with session_scope(engine) as session:
        [own] = session.exec(select(DeadlineSubscription).where(DeadlineSubscription.chat_id == 2))
        own.remind = ["3h"]
        session.add(own)
    with session_scope(engine) as session:
        loaded = load_followers(session, [deadline_id])[deadline_id]
    offsets = {f.chat_id: f.remind for f in loaded}
    assert offsets == {
        1: effective_offsets(["1d", "0"], None),
        2: effective_offsets(["1d", "0"], ["3h"]),
    }
    assert offsets[1] != offsets[2]


def _stamp_updated(engine: Engine, stamps: dict[int, datetime]) -> None:
    with session_scope(engine) as session:
        for deadline_id, updated in stamps.items():
            deadline = session.get(Deadline, deadline_id)
            assert deadline is not None
            deadline.updated_at = updated
            session.add(deadline)


def test_a_sync_before_any_rebuild_looks_from_when_the_jobs_were_made(engine: Engine) -> None:
    old = stored_deadline(engine, "old", T0 + timedelta(days=3))
    new = stored_deadline(engine, "new", T0 + timedelta(days=3))
    _stamp_updated(engine, {old: T0 - timedelta(hours=1), new: T0 + timedelta(seconds=30)})
    now = [T0]
    jobs = ReminderJobs(
        engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: now[0]
    )
    now[0] = T0 + timedelta(minutes=1)
    assert jobs.sync_changed() == 1
    assert job_ids(jobs) == [f"deadline:{new}"]


def test_each_sync_looks_back_five_seconds_before_the_last_one_and_no_further(
    engine: Engine,
) -> None:
    """A change stamped just before a sync but committed after it is seen by the next sync;
    one the previous sync already saw, longer before, is not refreshed again."""
    seen = stored_deadline(engine, "seen", T0 + timedelta(days=3))
    slow = stored_deadline(engine, "slow", T0 + timedelta(days=3))
    _stamp_updated(engine, {seen: T0 + timedelta(seconds=50), slow: T0 - timedelta(days=1)})
    now = [T0]
    jobs = ReminderJobs(
        engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: now[0]
    )
    jobs.rebuild()
    now[0] = T0 + timedelta(seconds=60)
    assert jobs.sync_changed() == 1  # "seen"
    _stamp_updated(engine, {slow: T0 + timedelta(seconds=58)})  # committed after that sync
    now[0] = T0 + timedelta(seconds=120)
    assert jobs.sync_changed() == 1  # "slow" only


async def test_a_failed_sync_is_logged_and_left_to_the_next_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)

    def locked() -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(jobs, "sync_changed", locked)
    with caplog.at_level(logging.ERROR, logger="jobs.reminders"):
        await jobs.sync_changed_job()
    [record] = caplog.records
    assert record.getMessage() == "reminder sync failed; the next one retries"
    assert record.exc_info is not None


class CountingSignal(OutboxSignal):
    """An outbox signal that counts how often the delivery worker was woken."""

    def __init__(self) -> None:
        super().__init__()
        self.notified = 0

    def notify(self) -> None:
        self.notified += 1
        super().notify()


async def test_the_job_writes_its_reminder_wakes_the_outbox_and_schedules_the_next_one(
    engine: Engine,
) -> None:
    due = T0 + timedelta(days=3)
    deadline_id = stored_deadline(engine, "next", due)
    signal = CountingSignal()
    at_1d = due - timedelta(days=1)
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), signal, clock=lambda: at_1d)
    await jobs.run(deadline_id)
    with session_scope(engine) as session:
        assert [(a.kind, a.payload["offset"]) for a in session.exec(select(Alert))] == [
            ("reminder", "1d")
        ]
    assert signal.notified == 1
    job = jobs.scheduler.get_job(f"deadline:{deadline_id}")
    assert job is not None
    assert job.trigger.run_date == due
    assert (job.func, job.args, job.name) == (jobs.run, (deadline_id,), f"deadline:{deadline_id}")
    assert job.misfire_grace_time is None  # a job that runs late still writes its reminder


async def test_the_job_of_a_cancelled_deadline_does_not_wake_the_outbox(engine: Engine) -> None:
    deadline_id = stored_deadline(engine, "called-off", T0 + timedelta(days=1))
    with session_scope(engine) as session:
        deadline = session.get(Deadline, deadline_id)
        assert deadline is not None
        deadline_ops.cancel(session, deadline, actor="t")
    signal = CountingSignal()
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), signal, clock=lambda: T0)
    await jobs.run(deadline_id)
    assert signal.notified == 0


def test_refreshing_twice_before_start_up_leaves_one_job(engine: Engine) -> None:
    deadline_id = stored_deadline(engine, "twice", T0 + timedelta(days=3))
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    jobs.refresh(deadline_id)
    jobs.refresh(deadline_id)
    assert job_ids(jobs) == [f"deadline:{deadline_id}"]


async def test_a_running_scheduler_replaces_a_deadlines_job_and_drops_it_when_cancelled(
    engine: Engine,
) -> None:
    due = T0 + timedelta(days=3)
    deadline_id = stored_deadline(engine, "live", due)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        jobs = ReminderJobs(engine, scheduler, OutboxSignal(), clock=lambda: T0)
        jobs.refresh(deadline_id)
        jobs.refresh(deadline_id)  # a second change: the job is replaced, not added twice
        [job] = scheduler.get_jobs()
        assert job.trigger.run_date == due - timedelta(days=1)
        with session_scope(engine) as session:
            deadline = session.get(Deadline, deadline_id)
            assert deadline is not None
            deadline_ops.cancel(session, deadline, actor="t")
        jobs.refresh(deadline_id)
        assert scheduler.get_jobs() == []
    finally:
        scheduler.shutdown(wait=False)


def test_a_chat_that_followed_at_the_very_reminder_time_does_not_get_it() -> None:
    at_1d = DUE - timedelta(days=1)
    deadline = make_deadline(reminded_until=at_1d - timedelta(seconds=5))
    result = due_reminders(deadline, [follower(1, since=at_1d)], at_1d + timedelta(seconds=1))
    assert result.alerts == []


def test_a_reminder_exactly_a_minute_old_is_sent_once_on_time() -> None:
    at_1d = DUE - timedelta(days=1)
    deadline = make_deadline(reminded_until=at_1d - timedelta(seconds=5))
    result = due_reminders(deadline, [follower(1)], at_1d + timedelta(seconds=60))
    assert [(a.payload["offset"], a.payload["late"]) for a in result.alerts] == [("1d", False)]


def test_a_deadline_due_exactly_a_minute_ago_is_sent_late_not_summed_up() -> None:
    now = DUE + timedelta(seconds=60)
    deadline = make_deadline(reminded_until=DUE - timedelta(hours=2))
    result = due_reminders(deadline, [follower(1)], now)
    assert result.missed == {}
    assert [(a.payload["offset"], a.payload["late"]) for a in result.alerts] == [
        ("0", False),
        ("1h", True),
    ]


def test_a_single_late_reminder_names_no_other_missed_ones() -> None:
    now = DUE - timedelta(hours=3)  # down from 2 days before: only the 1d reminder was missed
    result = due_reminders(
        make_deadline(reminded_until=DUE - timedelta(days=2)), [follower(1)], now
    )
    [alert] = result.alerts
    assert alert.payload["late"] is True
    assert "missed_offsets" not in alert.payload


def test_an_on_time_reminder_after_downtime_does_not_carry_the_missed_ones() -> None:
    now = DUE - timedelta(hours=1) + timedelta(seconds=1)  # back just after the 1h reminder time
    result = due_reminders(
        make_deadline(reminded_until=DUE - timedelta(days=10)), [follower(1)], now
    )
    payloads = {a.payload["offset"]: a.payload for a in result.alerts}
    assert sorted(payloads) == ["1d", "1h"]
    assert payloads["1h"]["late"] is False and "missed_offsets" not in payloads["1h"]
    assert payloads["1d"]["late"] is True and payloads["1d"]["missed_offsets"] == ["7d"]


def test_a_reminder_exactly_an_hour_before_the_deadline_is_urgent() -> None:
    at_1h = DUE - timedelta(hours=1)
    deadline = make_deadline(remind=["1h"], reminded_until=at_1h - timedelta(seconds=5))
    result = due_reminders(deadline, [follower(1, ["1h"])], at_1h)
    assert [(a.payload["offset"], a.priority) for a in result.alerts] == [("1h", PRIORITY_URGENT)]


def test_the_offline_summary_lists_each_chats_missed_reminders_in_time_order() -> None:
    """Followers with different offsets: each chat's list is still earliest first."""
    now = DUE + timedelta(days=2)
    deadline = make_deadline(reminded_until=DUE - timedelta(days=3))
    result = process(deadline, [follower(1, ["1h"]), follower(2, ["1d"])], now)
    assert {chat: [i["offset"] for i in items] for chat, items in result.missed.items()} == {
        1: ["1h", "0"],
        2: ["1d", "0"],
    }
    summaries = offline_summary_alerts(result.missed, now)
    assert sorted((a.chat_id, a.dedup_key, a.kind, a.priority) for a in summaries) == [
        (chat, f"offline:{int(now.timestamp())}", "offline_summary", PRIORITY_NORMAL)
        for chat in (1, 2)
    ]


def test_a_repeating_deadline_keeps_its_occurrence_until_it_falls_due() -> None:
    deadline = make_deadline(rule="FREQ=WEEKLY", rule_start=DUE)
    at_1d = DUE - timedelta(days=1)
    deadline.reminded_until = at_1d - timedelta(seconds=5)
    result = process(deadline, [follower(1)], at_1d)
    assert [a.payload["offset"] for a in result.alerts] == ["1d"]
    assert deadline.due_at == DUE


def test_rebuild_schedules_every_deadline_when_they_fill_more_than_one_chunk(
    engine: Engine,
) -> None:
    ids = [stored_deadline(engine, f"d{n}", T0 + timedelta(days=3 + n)) for n in range(6)]
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    assert jobs.rebuild() == 6
    assert job_ids(jobs) == sorted(f"deadline:{i}" for i in ids)


def test_followers_of_every_deadline_are_loaded_without_inactive_chats(engine: Engine) -> None:
    first = stored_deadline(engine, "first", T0 + timedelta(days=3))
    second = stored_deadline(engine, "second", T0 + timedelta(days=4))
    with session_scope(engine) as session:
        chats.register(session, 2, kind="private", title=None, auto_follow=False)
        deadline = session.get(Deadline, first)
        assert deadline is not None
        deadline_ops.follow(session, 2, deadline)
    with session_scope(engine) as session:  # chat 2 blocked the bot
        chat = session.get(Chat, 2)
        assert chat is not None
        chat.active = False
        session.add(chat)
    with session_scope(engine) as session:
        loaded = load_followers(session)
    assert {d: [f.chat_id for f in fs] for d, fs in loaded.items()} == {first: [1], second: [1]}


async def test_the_job_of_a_deadline_nobody_follows_writes_nothing_and_is_not_retried(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    deadline_id = stored_deadline(engine, "alone", T0 + timedelta(days=1), followed=False)
    jobs = ReminderJobs(engine, AsyncIOScheduler(timezone=UTC), OutboxSignal(), clock=lambda: T0)
    with caplog.at_level(logging.ERROR, logger="jobs.reminders"):
        await jobs.run(deadline_id)
    assert caplog.records == []
    assert job_ids(jobs) == []
    with session_scope(engine) as session:
        assert session.exec(select(Alert)).all() == []


def test_a_repeating_deadline_past_its_last_occurrence_keeps_it_and_moves_its_watermark() -> None:
    deadline = make_deadline(rule="FREQ=DAILY;COUNT=1", rule_start=DUE)
    deadline.reminded_until = DUE - timedelta(seconds=5)
    now = DUE + timedelta(seconds=10)
    result = process(deadline, [follower(1)], now)
    assert [a.kind for a in result.alerts] == ["deadline_reached"]
    assert (deadline.due_at, deadline.reminded_until) == (DUE, now)


def test_two_offsets_at_the_same_instant_across_a_clock_change_are_listed_larger_first() -> None:
    """London leaves summer time on 26 October 2025: a day before 12:00 GMT that day is 12:00
    BST on the 25th, the same instant as 25 hours before."""
    due = datetime(2025, 10, 26, 12, 0, tzinfo=UTC)
    deadline = make_deadline(due_at=due, remind=["1d", "25h"])
    times = reminder_times(deadline, [follower(1, ["1d", "25h"])])
    assert [(t.offset.text, t.fire_at) for t in times] == [
        ("25h", datetime(2025, 10, 25, 11, 0, tzinfo=UTC)),
        ("1d", datetime(2025, 10, 25, 11, 0, tzinfo=UTC)),
        ("0", due),
    ]
