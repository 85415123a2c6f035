"""Deadline operations: list, create, move, rename, cancel, follow; changes reach followers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, not_, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.services import chats
from bot.services.outbox import PRIORITY_URGENT, NewAlert, OutboxSignal, cancel_pending, enqueue
from bot.store.db import session_scope
from bot.store.models import Chat, Deadline, DeadlineChange, DeadlineSubscription, utcnow

ALL_DAY = timedelta(days=1)


class DeadlineNotFound(LookupError):
    """No deadline with that id is visible to the chat."""

    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.slug = slug


@dataclass(frozen=True)
class DeadlineSpec:
    """Everything needed to create or update a deadline."""

    slug: str
    title: str
    due_at: datetime
    timezone: str
    all_day: bool = False
    remind: tuple[str, ...] = ("7d", "1d", "1h", "0")
    keywords: tuple[str, ...] = ()
    url: str | None = None
    description: str | None = None
    rule: str | None = None
    rule_start: datetime | None = None


def visible_to(chat_id: int | None) -> Any:
    """Global deadlines (config, calendar) and those owned by the chat."""
    if chat_id is None:
        return col(Deadline.owner_chat_id).is_(None)
    return or_(col(Deadline.owner_chat_id).is_(None), col(Deadline.owner_chat_id) == chat_id)


def upcoming_at(now: datetime) -> Any:
    """Still ahead: timed deadlines after now; date-only ones until their day has ended."""
    return or_(
        col(Deadline.due_at) > now,
        and_(col(Deadline.all_day), col(Deadline.due_at) > now - ALL_DAY),
    )


def find(session: Session, slug: str, chat_id: int | None) -> Deadline:
    deadline = session.exec(
        select(Deadline)
        .where(Deadline.slug == slug)
        .where(visible_to(chat_id))
        .order_by(col(Deadline.owner_chat_id).is_not(None))  # a global id wins a clash
    ).first()
    if deadline is None:
        raise DeadlineNotFound(slug)
    return deadline


def upcoming(
    session: Session, chat_id: int | None, now: datetime, *, limit: int = 10, offset: int = 0
) -> list[Deadline]:
    query = (
        select(Deadline)
        .where(Deadline.status == "active", upcoming_at(now), visible_to(chat_id))
        .order_by(col(Deadline.due_at), col(Deadline.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(query).all())


def owned_active(session: Session, chat_id: int) -> int:
    """How many active deadlines the chat added (what its limit counts)."""
    query = (
        select(func.count())
        .select_from(Deadline)
        .where(Deadline.owner_chat_id == chat_id, Deadline.status == "active")
    )
    return int(session.exec(query).one())


def count_upcoming(session: Session, chat_id: int | None, now: datetime) -> int:
    query = (
        select(func.count())
        .select_from(Deadline)
        .where(Deadline.status == "active", upcoming_at(now), visible_to(chat_id))
    )
    return int(session.exec(query).one())


def recently_passed(
    session: Session, chat_id: int | None, now: datetime, *, limit: int = 5
) -> list[Deadline]:
    query = (
        select(Deadline)
        .where(Deadline.status == "active", not_(upcoming_at(now)), visible_to(chat_id))
        .order_by(col(Deadline.due_at).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


def followed_ids(session: Session, chat_id: int) -> set[int]:
    query = select(DeadlineSubscription.deadline_id).where(DeadlineSubscription.chat_id == chat_id)
    return set(session.exec(query).all())


def follower_ids(session: Session, deadline_id: int) -> list[int]:
    query = (
        select(DeadlineSubscription.chat_id)
        .join(Chat, col(Chat.id) == DeadlineSubscription.chat_id)
        .where(DeadlineSubscription.deadline_id == deadline_id, col(Chat.active))
    )
    return list(session.exec(query).all())


def follow(
    session: Session,
    chat_id: int,
    deadline: Deadline,
    remind: Sequence[str] | None = None,
    *,
    reset: bool = False,
) -> bool:
    """Subscribe the chat; return False if it already followed (its offsets are then updated).

    `remind` sets the chat's own offsets; `reset` drops them for the deadline's defaults.
    """
    assert deadline.id is not None
    _touch(session, deadline)
    existing = session.exec(
        select(DeadlineSubscription).where(
            DeadlineSubscription.chat_id == chat_id, DeadlineSubscription.deadline_id == deadline.id
        )
    ).first()
    if existing is not None:
        if remind is not None or reset:
            existing.remind = list(remind) if remind is not None else None
            session.add(existing)
        return False
    subscription = chats.new_subscription(session, chat_id, deadline.id)
    if remind:
        subscription.remind = list(remind)
    session.add(subscription)
    return True


def unfollow(session: Session, chat_id: int, deadline: Deadline) -> bool:
    existing = session.exec(
        select(DeadlineSubscription).where(
            DeadlineSubscription.chat_id == chat_id, DeadlineSubscription.deadline_id == deadline.id
        )
    ).first()
    if existing is None:
        return False
    session.delete(existing)
    _touch(session, deadline)
    return True


def _touch(session: Session, deadline: Deadline) -> None:
    """Mark the deadline changed so every replica's scheduler picks up its new reminder times."""
    deadline.updated_at = utcnow()
    session.add(deadline)


def changed_since(session: Session, since: datetime) -> list[int]:
    """Ids of deadlines changed (or followed, unfollowed, re-offset) after `since`."""
    query = select(Deadline.id).where(col(Deadline.updated_at) > since)
    return [i for i in session.exec(query).all() if i is not None]


def history(session: Session, deadline_id: int, *, limit: int = 10) -> list[DeadlineChange]:
    query = (
        select(DeadlineChange)
        .where(DeadlineChange.deadline_id == deadline_id)
        .order_by(col(DeadlineChange.at).desc(), col(DeadlineChange.id).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


def create(
    session: Session, spec: DeadlineSpec, *, origin: str, owner_chat_id: int | None, actor: str
) -> Deadline:
    now = utcnow()
    deadline = Deadline(
        slug=spec.slug,
        title=spec.title,
        due_at=spec.due_at,
        timezone=spec.timezone,
        all_day=spec.all_day,
        remind=list(spec.remind),
        keywords=list(spec.keywords),
        url=spec.url,
        description=spec.description,
        rule=spec.rule,
        rule_start=spec.rule_start,
        origin=origin,
        owner_chat_id=owner_chat_id,
        reminded_until=now,
        created_at=now,
        updated_at=now,
    )
    session.add(deadline)
    session.flush()
    assert deadline.id is not None
    session.add(
        DeadlineChange(
            deadline_id=deadline.id, kind="created", new_value=spec.due_at.isoformat(), actor=actor
        )
    )
    return deadline


def _announce(
    session: Session, deadline: Deadline, change: DeadlineChange, payload: dict[str, Any]
) -> int:
    """Tell every active follower about a change, once (keyed by the change row)."""
    assert deadline.id is not None
    session.flush()
    alerts = [
        NewAlert(
            chat_id, f"c:{deadline.id}:{change.id}", "deadline_changed", payload, PRIORITY_URGENT
        )
        for chat_id in follower_ids(session, deadline.id)
    ]
    return enqueue(session, alerts)


def deadline_payload(deadline: Deadline) -> dict[str, Any]:
    """What every alert about a deadline carries (the render reads these keys)."""
    return {
        "deadline_id": deadline.id,
        "slug": deadline.slug,
        "title": deadline.title,
        "due_at": deadline.due_at.isoformat(),
        "timezone": deadline.timezone,
        "all_day": deadline.all_day,
        "url": deadline.url,
    }


def reminder_prefix(deadline_id: int | None, due_at: datetime | None = None) -> str:
    """Dedup-key prefix of a deadline's reminders: all of them, or one occurrence's.

    A reminder's key is this prefix for its occurrence plus the offset, e.g. `r:7:1752073200:1d`.
    """
    if due_at is None:
        return f"r:{deadline_id}:"
    return f"r:{deadline_id}:{int(due_at.timestamp())}:"


def move(
    session: Session, deadline: Deadline, new_due: datetime, *, all_day: bool, actor: str
) -> int:
    """Move a deadline: cancel reminders pending for the old time, record and announce it.

    Reminders whose time has already passed at the new due time are not repeated: the
    watermark `reminded_until` moves to now.
    """
    assert deadline.id is not None
    old_due = deadline.due_at
    cancel_pending(session, reminder_prefix(deadline.id, old_due))
    now = utcnow()
    deadline.due_at = new_due
    deadline.all_day = all_day
    deadline.reminded_until = max(deadline.reminded_until, now)
    deadline.updated_at = now
    session.add(deadline)
    change = DeadlineChange(
        deadline_id=deadline.id,
        kind="moved",
        old_value=old_due.isoformat(),
        new_value=new_due.isoformat(),
        actor=actor,
    )
    session.add(change)
    payload = {**deadline_payload(deadline), "change": "moved", "old_due_at": old_due.isoformat()}
    return _announce(session, deadline, change, payload)


def rename(session: Session, deadline: Deadline, new_title: str, *, actor: str) -> int:
    assert deadline.id is not None
    old_title = deadline.title
    deadline.title = new_title
    deadline.updated_at = utcnow()
    session.add(deadline)
    change = DeadlineChange(
        deadline_id=deadline.id,
        kind="renamed",
        old_value=old_title,
        new_value=new_title,
        actor=actor,
    )
    session.add(change)
    payload = {**deadline_payload(deadline), "change": "renamed", "old_title": old_title}
    return _announce(session, deadline, change, payload)


def cancel(session: Session, deadline: Deadline, *, actor: str) -> int:
    assert deadline.id is not None
    cancel_pending(session, reminder_prefix(deadline.id))
    deadline.status = "cancelled"
    deadline.updated_at = utcnow()
    session.add(deadline)
    change = DeadlineChange(deadline_id=deadline.id, kind="cancelled", actor=actor)
    session.add(change)
    payload = {**deadline_payload(deadline), "change": "cancelled"}
    return _announce(session, deadline, change, payload)


@dataclass
class DeadlineService:
    """The explicit API handlers use: each call is one transaction, then hooks run."""

    engine: Engine
    outbox: OutboxSignal
    on_change: list[Callable[[int], None]] = field(default_factory=list)

    def changed(self, deadline_id: int, alerts_written: int = 0) -> None:
        if alerts_written:
            self.outbox.notify()
        for hook in self.on_change:
            hook(deadline_id)

    def follow(
        self, chat_id: int, slug: str, remind: Sequence[str] | None = None, *, reset: bool = False
    ) -> tuple[Deadline, bool]:
        """Follow (or set this chat's offsets; `reset` goes back to the deadline's own)."""
        with session_scope(self.engine) as session:
            deadline = find(session, slug, chat_id)
            added = follow(session, chat_id, deadline, remind, reset=reset)
        assert deadline.id is not None
        self.changed(deadline.id)
        return deadline, added

    def unfollow(self, chat_id: int, slug: str) -> tuple[Deadline, bool]:
        with session_scope(self.engine) as session:
            deadline = find(session, slug, chat_id)
            removed = unfollow(session, chat_id, deadline)
        assert deadline.id is not None
        self.changed(deadline.id)
        return deadline, removed
