"""A chat's deadlines as pictures and calendars: what /timeline draws, and the calendar
URLs a chat subscribes to (/calendar add, list, remove)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.services.deadlines import reminder_prefix, upcoming_at
from bot.services.outbox import cancel_pending
from bot.store.models import ChatCalendar, Deadline, DeadlineSubscription

# More rows than this would make a picture too tall to read on a phone.
TIMELINE_MAX = 50


@dataclass(frozen=True)
class TimelineItem:
    """One row of the /timeline picture (`bot.render.timeline` draws it)."""

    title: str
    due_at: datetime  # aware UTC
    all_day: bool


def timeline_items(
    session: Session, chat_id: int, now: datetime, limit: int = TIMELINE_MAX
) -> list[TimelineItem]:
    """The chat's upcoming deadlines (followed, or its own), soonest first."""
    followed = select(DeadlineSubscription.deadline_id).where(
        DeadlineSubscription.chat_id == chat_id
    )
    rows = session.exec(
        select(Deadline)
        .where(
            Deadline.status == "active",
            upcoming_at(now),
            or_(col(Deadline.id).in_(followed), col(Deadline.owner_chat_id) == chat_id),
        )
        .order_by(col(Deadline.due_at), col(Deadline.id))
        .limit(limit)
    ).all()
    return [TimelineItem(row.title, row.due_at, row.all_day) for row in rows]


# A chat may subscribe to this many calendar URLs (each refresh is a fetch on its behalf).
MAX_CALENDARS_PER_CHAT = 5


class CalendarRefused(Exception):
    """A /calendar change that cannot be made; the message is fit to show to the chat."""


def chat_calendars(session: Session, chat_id: int) -> list[ChatCalendar]:
    """The chat's calendar subscriptions, oldest first (the numbers /calendar shows)."""
    return list(
        session.exec(
            select(ChatCalendar)
            .where(ChatCalendar.chat_id == chat_id)
            .order_by(col(ChatCalendar.id))
        ).all()
    )


def add_calendar(session: Session, chat_id: int, url: str, actor: str) -> ChatCalendar:
    """Subscribe the chat to an (already SSRF-checked) URL; raises CalendarRefused."""
    current = chat_calendars(session, chat_id)
    if any(row.url == url for row in current):
        raise CalendarRefused("already")
    if len(current) >= MAX_CALENDARS_PER_CHAT:
        raise CalendarRefused("limit")
    row = ChatCalendar(chat_id=chat_id, url=url, added_by=actor[:300])
    session.add(row)
    session.flush()
    return row


def remove_calendar(session: Session, chat_id: int, which: str) -> tuple[ChatCalendar, list[int]]:
    """Drop a subscription by its number in the list or its URL; its upcoming deadlines are
    withdrawn quietly (the chat asked for it). Returns the row and the deadline ids."""
    rows = chat_calendars(session, chat_id)
    found = next((row for row in rows if row.url == which), None)
    if found is None and which.isdigit() and 1 <= int(which) <= len(rows):
        found = rows[int(which) - 1]
    if found is None:
        raise CalendarRefused("unknown")
    withdrawn = []
    for deadline in session.exec(
        select(Deadline).where(
            Deadline.calendar_url == found.url,
            Deadline.owner_chat_id == chat_id,
            Deadline.status == "active",
        )
    ):
        assert deadline.id is not None
        cancel_pending(session, reminder_prefix(deadline.id))
        deadline.status = "cancelled"
        session.add(deadline)
        withdrawn.append(deadline.id)
    session.delete(found)
    return found, withdrawn
