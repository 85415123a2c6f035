"""Calendar feeds: iCalendar events become global deadlines, kept in step with each refresh.

An event keeps its identity by (feed URL, UID#occurrence): a moved occurrence is a move
(followers are told), a renamed one a rename, and a future occurrence that disappears from
the feed is cancelled. Past occurrences are left as they are.

A chat's own calendars (/calendar add) work the same way, with their deadlines owned by the
chat (and followed by it), fetched as untrusted URLs (SSRF-guarded at connect time).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import CalendarConfig
from bot.services import chats
from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineSpec
from bot.services.proposals import unique_slug
from bot.store.db import session_scope
from bot.store.models import Chat, ChatCalendar, Deadline, utcnow
from jobs.deadlines.ics import CalendarError, CalendarEvent, parse_calendar
from jobs.sources.fetch import Fetcher

log = logging.getLogger(__name__)

WINDOW_PAST = timedelta(days=1)
WINDOW_AHEAD = timedelta(days=400)
MAX_TITLE_CHARS = 300


@dataclass(frozen=True)
class CalendarSyncReport:
    url: str
    events: int
    created: int
    moved: int
    cancelled: int
    alerts: int
    changed_ids: tuple[int, ...]
    error: str | None = None


def apply_events(
    session: Session,
    calendar: CalendarConfig,
    events: list[CalendarEvent],
    now: datetime,
    owner_chat_id: int | None = None,
) -> CalendarSyncReport:
    """Bring the feed's deadlines in line with `events` (the parsed window); with an owner,
    the deadlines are that chat's own (another chat with the same URL has its own copies)."""
    owner = (
        col(Deadline.owner_chat_id).is_(None)
        if owner_chat_id is None
        else col(Deadline.owner_chat_id) == owner_chat_id
    )
    existing = {
        d.calendar_key: d
        for d in session.exec(select(Deadline).where(Deadline.calendar_url == calendar.url, owner))
        if d.calendar_key
    }
    created = moved = alerts = 0
    changed: list[int] = []
    for event in events:
        current = existing.pop(event.key, None)
        title = f"{calendar.name}: {event.title}" if calendar.name else event.title
        title = title[:MAX_TITLE_CHARS]
        if current is None:
            spec = DeadlineSpec(
                slug=unique_slug(session, f"{event.title} {event.due_utc:%Y-%m-%d}", owner_chat_id),
                title=title,
                due_at=event.due_utc,
                timezone=event.zone,
                all_day=event.all_day,
                remind=tuple(calendar.remind),
                url=event.url,
                description=event.description[:500] or None,
            )
            current = deadline_ops.create(
                session, spec, origin="calendar", owner_chat_id=owner_chat_id, actor="calendar"
            )
            current.calendar_url = calendar.url
            current.calendar_key = event.key
            session.add(current)
            created += 1
            if owner_chat_id is not None:
                session.flush()
                assert current.id is not None
                session.add(chats.new_subscription(session, owner_chat_id, current.id))
            elif calendar.follow:
                _follow_all(session, current)
        else:
            if current.status != "active":
                current.status = "active"
            if current.due_at != event.due_utc:
                alerts += deadline_ops.move(
                    session, current, event.due_utc, all_day=event.all_day, actor="calendar"
                )
                moved += 1
            if current.title != title:
                alerts += deadline_ops.rename(session, current, title, actor="calendar")
            current.remind = list(calendar.remind)
            session.add(current)
        assert current.id is not None
        changed.append(current.id)
    cancelled = 0
    for gone in existing.values():
        if gone.status == "active" and gone.due_at > now:
            alerts += deadline_ops.cancel(session, gone, actor="calendar")
            assert gone.id is not None
            changed.append(gone.id)
            cancelled += 1
    return CalendarSyncReport(
        calendar.url, len(events), created, moved, cancelled, alerts, tuple(changed)
    )


def _follow_all(session: Session, deadline: Deadline) -> None:
    session.flush()
    assert deadline.id is not None
    for chat_id in chats.auto_follow_chat_ids(session):
        session.add(chats.new_subscription(session, chat_id, deadline.id))


async def refresh_calendar(
    engine: Engine,
    fetcher: Fetcher,
    calendar: CalendarConfig,
    default_zone: str,
    owner_chat_id: int | None = None,
) -> CalendarSyncReport:
    """Fetch one feed and apply it; a broken feed is a report with an error, never a crash.

    A chat's calendar (`owner_chat_id`) is fetched as untrusted: SSRF-guarded."""
    now = utcnow()
    try:
        result = await fetcher.fetch(calendar.url, trusted=owner_chat_id is None)
    except asyncio.CancelledError:
        # Shutdown cancels a refresh in flight; nothing was written, and it is not an error
        # (raised on, the scheduler would log it with a traceback).
        log.info("calendar %s: refresh cancelled at shutdown", calendar.url)
        return CalendarSyncReport(calendar.url, 0, 0, 0, 0, 0, (), "cancelled at shutdown")
    if result.error is not None or result.body is None:
        error = str(result.error) if result.error else f"HTTP {result.status}"
        log.warning("calendar %s: %s", calendar.url, error)
        return CalendarSyncReport(calendar.url, 0, 0, 0, 0, 0, (), error)
    try:
        events = parse_calendar(
            result.body,
            default_zone=calendar.timezone or default_zone,
            start=now - WINDOW_PAST,
            end=now + WINDOW_AHEAD,
        )
    except CalendarError as exc:
        log.warning("calendar %s: %s", calendar.url, exc)
        return CalendarSyncReport(calendar.url, 0, 0, 0, 0, 0, (), str(exc))
    with session_scope(engine) as session:
        return apply_events(session, calendar, events, now, owner_chat_id)


async def refresh_chat_calendar(
    engine: Engine, fetcher: Fetcher, calendar_id: int, default_zone: str
) -> CalendarSyncReport | None:
    """Refresh one chat calendar and record how it went on its row; None if it is gone."""
    with session_scope(engine) as session:
        row = session.get(ChatCalendar, calendar_id)
        if row is None:
            return None
        chat_id, url = row.chat_id, row.url
        zone = chats.zone_of(session.get(Chat, chat_id), default_zone)
    report = await refresh_calendar(
        engine, fetcher, CalendarConfig(url=url, follow=False), zone, owner_chat_id=chat_id
    )
    with session_scope(engine) as session:
        row = session.get(ChatCalendar, calendar_id)
        if row is not None:
            row.last_refreshed_at = utcnow()
            row.last_error = report.error[:500] if report.error else None
            if report.error is None:
                row.events = report.events
            session.add(row)
    return report


def chat_calendar_ids(engine: Engine) -> list[int]:
    with session_scope(engine) as session:
        return [
            row_id
            for row_id in session.exec(select(ChatCalendar.id).order_by(col(ChatCalendar.id)))
            if row_id is not None
        ]
