"""Per-chat delivery settings in the store: quiet hours, mute, digests, snooze; admin status.

Plain functions over an engine, so they are tested without Telegram; the chat commands in
`bot.interface.policy_commands` parse input and call them, and `bot.render.policy` words
the facts they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.delivery_policy.quiet import Digest, QuietHours
from bot.services.outbox import NewAlert, enqueue
from bot.store.db import session_scope
from bot.store.models import Alert, Chat, Topic, TopicSubscription

# Dedup prefix of the copies a Snooze button makes (the worker also keys on it).
SNOOZE_PREFIX = "sz:"

SNOOZE = timedelta(hours=1)
FAILURES_LISTED = 5
INACTIVE_LISTED = 5


class ChatNotRegistered(LookupError):
    """The chat never sent /start, so there is nowhere to keep its settings."""


class TopicNotFollowed(LookupError):
    """The chat does not follow a topic with that id."""


@dataclass(frozen=True)
class FailureLine:
    alert_id: int
    chat_id: int
    kind: str
    error: str


@dataclass(frozen=True)
class StatusFacts:
    """What /status shows: alert counts by status, recent failures, inactive chats."""

    counts: dict[str, int]
    failures: Sequence[FailureLine]
    inactive: Sequence[tuple[int, str]]  # chat id, reason
    inactive_total: int


@dataclass(frozen=True)
class SnoozeResult:
    until: datetime
    created: bool  # False when this message was already snoozed


def registered_chat(session: Session, chat_id: int) -> Chat:
    chat = session.get(Chat, chat_id)
    if chat is None:
        raise ChatNotRegistered(chat_id)
    return chat


def _release_held(session: Session, chat_id: int, now: datetime) -> None:
    """Let the worker look again at alerts held for the old setting (snoozes stay put)."""
    session.execute(
        update(Alert)
        .where(
            col(Alert.chat_id) == chat_id,
            col(Alert.status) == "pending",
            col(Alert.not_before) > now,
            col(Alert.dedup_key).not_like(f"{SNOOZE_PREFIX}%"),
        )
        .values(not_before=now)
    )


def set_quiet(engine: Engine, chat_id: int, quiet: QuietHours | None, now: datetime) -> None:
    with session_scope(engine) as session:
        chat = registered_chat(session, chat_id)
        chat.quiet_start = f"{quiet.start:%H:%M}" if quiet else None
        chat.quiet_end = f"{quiet.end:%H:%M}" if quiet else None
        session.add(chat)
        _release_held(session, chat_id, now)


def set_mute(engine: Engine, chat_id: int, until: datetime | None, now: datetime) -> None:
    with session_scope(engine) as session:
        chat = registered_chat(session, chat_id)
        chat.muted_until = until
        session.add(chat)
        if until is None:
            _release_held(session, chat_id, now)


def set_topic_mute(engine: Engine, chat_id: int, slug: str, until: datetime | None) -> None:
    with session_scope(engine) as session:
        registered_chat(session, chat_id)
        subscription = session.exec(
            select(TopicSubscription)
            .join(Topic, col(Topic.id) == TopicSubscription.topic_id)
            .where(col(TopicSubscription.chat_id) == chat_id, col(Topic.slug) == slug)
        ).first()
        if subscription is None:
            raise TopicNotFollowed(slug)
        subscription.muted_until = until
        session.add(subscription)


def set_digest(engine: Engine, chat_id: int, digest: Digest, now: datetime) -> None:
    with session_scope(engine) as session:
        chat = registered_chat(session, chat_id)
        chat.digest = str(digest)
        session.add(chat)
        _release_held(session, chat_id, now)


def snooze(engine: Engine, chat_id: int, alert_id: int, now: datetime) -> SnoozeResult | None:
    """Send the alert again in an hour (once per message); None if it is not this chat's."""
    with session_scope(engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.chat_id != chat_id:
            return None
        until = now + SNOOZE
        again = NewAlert(
            chat_id,
            f"{SNOOZE_PREFIX}{alert_id}",
            alert.kind,
            dict(alert.payload),
            alert.priority,
            not_before=until,
        )
        created = enqueue(session, [again]) == 1
        if not created:
            existing = session.exec(
                select(Alert.not_before).where(
                    col(Alert.chat_id) == chat_id, col(Alert.dedup_key) == again.dedup_key
                )
            ).first()
            until = existing or until
    return SnoozeResult(until, created)


def status_facts(engine: Engine) -> StatusFacts:
    with session_scope(engine) as session:
        counts = dict(
            session.execute(select(Alert.status, func.count()).group_by(col(Alert.status))).all()
        )
        failed = session.exec(
            select(Alert)
            .where(col(Alert.status) == "failed")
            .order_by(col(Alert.id).desc())
            .limit(FAILURES_LISTED)
        ).all()
        inactive = session.exec(
            select(Chat)
            .where(col(Chat.active).is_(False))
            .order_by(col(Chat.id))
            .limit(INACTIVE_LISTED)
        ).all()
        inactive_total = session.exec(
            select(func.count()).select_from(Chat).where(col(Chat.active).is_(False))
        ).one()
    return StatusFacts(
        counts={str(k): int(v) for k, v in counts.items()},
        failures=[
            FailureLine(a.id or 0, a.chat_id, a.kind, a.last_error or "unknown") for a in failed
        ],
        inactive=[(c.id, c.inactive_reason or "unknown") for c in inactive],
        inactive_total=int(inactive_total),
    )
