"""Several replicas on one database: one leader runs the scheduler, reminders are written once."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

import bot.runtime as runtime_module
from bot.config import parse_config
from bot.runtime import Runtime
from bot.services import chats
from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineSpec
from bot.store.db import session_scope
from bot.store.leader import APPLICATION_NAME
from bot.store.models import Alert

CONFIG = parse_config("timezone: UTC\n")


def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("leader election needs PostgreSQL (SQLite runs one process)")


async def test_one_leader_and_a_takeover(database_url: str) -> None:
    postgres_only(database_url)
    first, second = Runtime.create(CONFIG, database_url), Runtime.create(CONFIG, database_url)
    first.prepare_store()
    first.start_jobs()
    second.start_jobs()
    try:
        assert (first.leading, second.leading) == (True, False)
        assert second.scheduler.get_job("leadership") is not None
        first.stop_jobs()
        assert second._lead() is True
        assert second.leading and second.scheduler.get_job("reminders-sync") is not None
    finally:
        await first.close()
        await second.close()


async def test_reminder_written_once_by_two_replicas_and_changes_reach_the_leader(
    database_url: str,
) -> None:
    leader, other = Runtime.create(CONFIG, database_url), Runtime.create(CONFIG, database_url)
    leader.prepare_store()
    now = datetime.now(UTC)
    with session_scope(leader.engine) as session:
        chats.register(session, 1, kind="private", title=None, auto_follow=False)
        spec = DeadlineSpec(
            slug="vote",
            title="Vote",
            due_at=now + timedelta(days=3),
            timezone="UTC",
            remind=("1d",),
        )
        deadline = deadline_ops.create(session, spec, origin="chat", owner_chat_id=1, actor="t")
    assert deadline.id is not None
    leader.start_jobs()
    try:
        # A chat follows through the other replica: the leader learns of it by syncing.
        other.deadlines.follow(1, "vote")
        assert leader.scheduler.get_job(f"deadline:{deadline.id}") is None
        assert leader.reminders.sync_changed() == 1
        job = leader.scheduler.get_job(f"deadline:{deadline.id}")
        assert job is not None and job.next_run_time == now + timedelta(days=2)
        # Both replicas run the same job at once: the outbox keeps one alert.
        for runtime in (leader, other):
            runtime.reminders.clock = lambda: now + timedelta(days=2, seconds=1)
            await runtime.reminders.run(deadline.id)
        with session_scope(leader.engine) as session:
            assert [a.kind for a in session.exec(select(Alert))] == ["reminder"]
    finally:
        await leader.close()
        await other.close()


def _terminate(runtime: Runtime) -> None:
    """pg_terminate_backend on the replica's lock connection, as an operator or a failover would."""
    with runtime.engine.begin() as connection:
        count = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :name"
            ),
            {"name": f"{APPLICATION_NAME}:{os.getpid()}"},
        ).scalar()
    assert count == 1


async def test_a_leader_whose_lock_connection_is_terminated_stops_all_leader_work(
    database_url: str,
) -> None:
    postgres_only(database_url)
    first, second = Runtime.create(CONFIG, database_url), Runtime.create(CONFIG, database_url)
    first.prepare_store()
    changes: list[bool] = []

    async def record(leading: bool) -> None:
        changes.append(leading)

    first.on_leadership.append(record)
    first.start_jobs()
    try:
        assert first.leading and first.scheduler.get_job("sources:poll") is not None
        assert first.leadership.check() is None  # healthy: the lock is held
        _terminate(first)
        await first._check_lead()
        assert not first.leading and not first.leadership.is_leader
        leader_jobs = [j.id for j in first.scheduler.get_jobs() if j.id != "leadership"]
        assert leader_jobs == []  # reminders, sync, calendars, polling: all gone
        assert first.scheduler.get_job("leadership") is not None  # it follows now
        assert changes == [False]
        # The lock is free: another replica takes the lead, and the old one cannot.
        assert second._lead() is True
        await first._try_to_lead()
        assert not first.leading and changes == [False]
    finally:
        await first.close()
        await second.close()


async def test_a_follower_taking_a_freed_lock_leads_only_after_the_old_leader_stepped_down(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_terminate_backend frees the lock at once, but the old leader learns of it only at
    its next check: the follower that takes the lock must not lead before then."""
    postgres_only(database_url)
    monkeypatch.setattr(runtime_module, "TAKEOVER_GRACE_S", 0.2)
    first, second = Runtime.create(CONFIG, database_url), Runtime.create(CONFIG, database_url)
    first.prepare_store()
    first.start_jobs()
    second.start_jobs()
    both_led: list[bool] = []

    async def watch() -> None:
        while True:
            both_led.append(first.leading and second.leading)
            await asyncio.sleep(0)

    try:
        _terminate(first)
        watcher = asyncio.create_task(watch())
        taking = asyncio.create_task(second._try_to_lead())
        while not second.leadership.is_leader:  # the follower holds the freed lock...
            await asyncio.sleep(0.01)
        assert first.leading and not second.leading  # ...but waits out the old leader's check
        await first._check_lead()
        await taking
        watcher.cancel()
        assert (first.leading, second.leading) == (False, True)
        assert not any(both_led)
    finally:
        await first.close()
        await second.close()


def test_release_never_raises_when_the_lock_connection_is_gone(database_url: str) -> None:
    postgres_only(database_url)
    runtime = Runtime.create(CONFIG, database_url)
    runtime.prepare_store()
    try:
        assert runtime.leadership.try_acquire()
        _terminate(runtime)
        runtime.leadership.release()  # SIGTERM after a failover: no AdminShutdown
        assert not runtime.leadership.is_leader
    finally:
        runtime.leadership.dispose()
        runtime.engine.dispose()
