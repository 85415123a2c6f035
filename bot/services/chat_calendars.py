"""A chat's deadlines as pictures and files: what /timeline draws and /export sends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.render.timeline import TimelineItem
from bot.services.deadlines import upcoming_at
from bot.store.models import Deadline, DeadlineSubscription

# More rows than this would make a picture too tall to read on a phone.
TIMELINE_MAX = 50


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
