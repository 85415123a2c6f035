"""Which deadlines a calendar export holds: the global ones (`/calendar.ics`) or a chat's own
view (`/export`), read from the store and handed to `bot.domain.ics_export`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.domain.ics_export import ExportedDeadline, build_calendar
from bot.store.models import Deadline, DeadlineSubscription

# Passed deadlines stay in an export for a while, so a subscribed calendar keeps its history
# instead of events vanishing the moment they fall due.
HISTORY = timedelta(days=90)
GLOBAL_CALENDAR_NAME = "Herald deadlines"
CHAT_CALENDAR_NAME = "Herald: my deadlines"


def _uid_key(deadline: Deadline) -> str:
    # Global deadlines have public, stable ids; a chat's own are keyed by the row id, which
    # says nothing about other chats.
    if deadline.owner_chat_id is None and deadline.origin == "config":
        return deadline.slug
    return f"deadline-{deadline.id}"


def exported(deadline: Deadline, remind: Sequence[str] | None = None) -> ExportedDeadline:
    return ExportedDeadline(
        uid_key=_uid_key(deadline),
        title=deadline.title,
        due_at=deadline.due_at,
        timezone=deadline.timezone,
        all_day=deadline.all_day,
        remind=tuple(remind if remind is not None else deadline.remind),
        url=deadline.url,
        description=deadline.description,
        rule=deadline.rule,
        updated_at=deadline.updated_at,
    )


def global_deadlines(session: Session, now: datetime) -> list[ExportedDeadline]:
    """Every active global deadline (config and calendars), upcoming and recent."""
    rows = session.exec(
        select(Deadline)
        .where(
            col(Deadline.owner_chat_id).is_(None),
            Deadline.status == "active",
            col(Deadline.due_at) > now - HISTORY,
        )
        .order_by(col(Deadline.due_at), col(Deadline.id))
    ).all()
    return [exported(row) for row in rows]


def chat_deadlines(session: Session, chat_id: int, now: datetime) -> list[ExportedDeadline]:
    """What the chat follows, plus its own deadlines, with the chat's own reminder offsets."""
    rows = session.exec(
        select(Deadline, DeadlineSubscription.remind)
        .outerjoin(
            DeadlineSubscription,
            (col(DeadlineSubscription.deadline_id) == Deadline.id)
            & (col(DeadlineSubscription.chat_id) == chat_id),
        )
        .where(
            Deadline.status == "active",
            col(Deadline.due_at) > now - HISTORY,
            or_(
                col(DeadlineSubscription.id).is_not(None),
                col(Deadline.owner_chat_id) == chat_id,
            ),
        )
        .order_by(col(Deadline.due_at), col(Deadline.id))
    ).all()
    return [exported(deadline, remind) for deadline, remind in rows]


def global_calendar(session: Session, now: datetime) -> bytes:
    return build_calendar(global_deadlines(session, now), name=GLOBAL_CALENDAR_NAME, now=now)


def chat_calendar(session: Session, chat_id: int, now: datetime) -> bytes:
    return build_calendar(chat_deadlines(session, chat_id, now), name=CHAT_CALENDAR_NAME, now=now)
