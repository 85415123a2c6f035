"""Calendar feeds become deadlines; a re-fetch updates, moves and cancels instead of duplicating."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import time_machine
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.config import CalendarConfig
from bot.services import chats
from bot.store.db import session_scope
from bot.store.models import Alert, Deadline, DeadlineSubscription
from jobs.calendars import refresh_calendar
from jobs.sources.fetch import Fetcher

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
UK_ICS = (SAMPLES / "uk-holidays-recurring-with-overrides.ics").read_bytes()
URL = "https://calendar.test/uk.ics"

ONE_OFF = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:talks-1\r
DTSTART:20270115T100000Z\r
SUMMARY:Trade talks\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:vote-1\r
DTSTART;VALUE=DATE:20270120\r
SUMMARY:Parliament vote\r
END:VEVENT\r
END:VCALENDAR\r
"""


def serving(body: bytes) -> Fetcher:
    return Fetcher(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(200, stream=httpx.ByteStream(body))
        )
    )


def calendar_deadlines(engine: Engine) -> list[Deadline]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(Deadline).where(Deadline.origin == "calendar").order_by(col(Deadline.due_at))
            ).all()
        )


@time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), tick=False)
async def test_uk_holidays_become_deadlines_once(engine: Engine) -> None:
    calendar = CalendarConfig(url=URL, name="UK")
    async with serving(UK_ICS) as fetcher:
        first = await refresh_calendar(engine, fetcher, calendar, "Europe/London")
        second = await refresh_calendar(engine, fetcher, calendar, "Europe/London")
    assert first.error is None and first.created == first.events > 0
    assert (second.created, second.moved, second.cancelled) == (0, 0, 0)
    stored = calendar_deadlines(engine)
    assert len(stored) == first.events
    boxing = [d for d in stored if "Boxing" in d.title and d.due_at.year == 2026]
    assert [(d.title, d.all_day, d.due_at.date().isoformat()) for d in boxing] == [
        ("UK: Boxing Day (substitute)", True, "2026-12-28")
    ]


@time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), tick=False)
async def test_moved_and_removed_events_are_news_to_followers(engine: Engine) -> None:
    calendar = CalendarConfig(url=URL, follow=True)
    with session_scope(engine) as session:
        chats.register(session, 11, kind="private", title=None, auto_follow=True)
    async with serving(ONE_OFF) as fetcher:
        await refresh_calendar(engine, fetcher, calendar, "Europe/London")
    with session_scope(engine) as session:
        assert len(session.exec(select(DeadlineSubscription)).all()) == 2
    changed = ONE_OFF.replace(b"DTSTART:20270115T100000Z", b"DTSTART:20270122T100000Z")
    changed = changed.split(b"BEGIN:VEVENT\r\nUID:vote-1")[0] + b"END:VCALENDAR\r\n"
    async with serving(changed) as fetcher:
        report = await refresh_calendar(engine, fetcher, calendar, "Europe/London")
    assert (report.moved, report.cancelled, report.alerts) == (1, 1, 2)
    by_title = {d.title: d for d in calendar_deadlines(engine)}
    talks, vote = by_title["Trade talks"], by_title["Parliament vote"]
    assert talks.due_at == datetime(2027, 1, 22, 10, 0, tzinfo=UTC)
    assert vote.status == "cancelled"
    with session_scope(engine) as session:
        changes = sorted(a.payload["change"] for a in session.exec(select(Alert)))
    assert changes == ["cancelled", "moved"]


async def test_broken_feed_is_reported_and_changes_nothing(engine: Engine) -> None:
    calendar = CalendarConfig(url=URL)
    async with serving(b"<html>not a calendar</html>") as fetcher:
        report = await refresh_calendar(engine, fetcher, calendar, "Europe/London")
    assert report.error is not None and report.created == 0
    assert calendar_deadlines(engine) == []


async def test_a_refresh_cancelled_at_shutdown_logs_no_traceback(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The scheduler cancels jobs in flight when it shuts down; the refresh must end quietly."""
    asked = asyncio.Event()

    async def never_answer(request: httpx.Request) -> httpx.Response:
        asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    finished = asyncio.Event()
    scheduler = AsyncIOScheduler()
    scheduler.add_listener(lambda event: finished.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    async with Fetcher(transport=httpx.MockTransport(never_answer)) as fetcher:
        calendar = CalendarConfig(url=URL)
        scheduler.add_job(refresh_calendar, args=[engine, fetcher, calendar, "Europe/London"])
        await asyncio.wait_for(asked.wait(), 10)
        scheduler.shutdown(wait=False)
        await asyncio.wait_for(finished.wait(), 10)  # the job ended, one way or the other
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert calendar_deadlines(engine) == []
