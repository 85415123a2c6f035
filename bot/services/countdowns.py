"""Live countdown messages: which are due for an edit, and when the next edit falls."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.store.models import Countdown, Deadline

LAST_DAY = timedelta(days=1)


def next_edit_at(due_at: datetime, now: datetime) -> datetime:
    """Daily until the last day, then at the top of every hour, then once at the due time."""
    left = due_at - now
    if left <= timedelta(0):
        return now
    if left > LAST_DAY:
        return min(now + LAST_DAY, due_at - LAST_DAY)
    top_of_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return min(top_of_hour, due_at)


def start_countdown(
    session: Session,
    chat_id: int,
    deadline_id: int,
    message_id: int,
    due_at: datetime,
    now: datetime,
) -> Countdown:
    """Replace the chat's countdown for this deadline with the message just sent."""
    countdown = session.exec(
        select(Countdown).where(Countdown.chat_id == chat_id, Countdown.deadline_id == deadline_id)
    ).first() or Countdown(chat_id=chat_id, deadline_id=deadline_id)
    countdown.message_id = message_id
    countdown.active = True
    countdown.next_edit_at = next_edit_at(due_at, now)
    session.add(countdown)
    return countdown


def due_countdowns(session: Session, now: datetime) -> list[tuple[Countdown, Deadline]]:
    rows = session.exec(
        select(Countdown, Deadline)
        .join(Deadline, col(Deadline.id) == Countdown.deadline_id)
        .where(col(Countdown.active), col(Countdown.next_edit_at) <= now)
    ).all()
    return [(c, d) for c, d in rows]


def after_edit(session: Session, countdown: Countdown, deadline: Deadline, now: datetime) -> None:
    """Schedule the next edit, or stop once the final 'reached' edit is made."""
    if deadline.due_at <= now or deadline.status != "active":
        countdown.active = False
    else:
        countdown.next_edit_at = next_edit_at(deadline.due_at, now)
    session.add(countdown)
