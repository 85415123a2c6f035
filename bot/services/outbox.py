"""The outbox: every push becomes an alert row, written once per (chat, dedup_key)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col

from bot import metrics
from bot.store.bulk import KEYS_PER_IN, insert_new
from bot.store.models import Alert, utcnow
from bot.store.notify import notify_outbox

PRIORITY_URGENT = 0
PRIORITY_NORMAL = 1
PRIORITY_NEWS = 2


@dataclass(frozen=True)
class NewAlert:
    """What a job or service wants pushed to one chat."""

    chat_id: int
    dedup_key: str
    kind: str
    payload: dict[str, Any]
    priority: int = PRIORITY_NORMAL
    not_before: datetime | None = None


@dataclass
class OutboxSignal:
    """Wakes the in-process delivery worker as soon as alerts are written."""

    _event: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self._event.set()

    async def wait(self, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)
        self._event.clear()


def enqueue(session: Session, alerts: list[NewAlert]) -> int:
    """Insert alerts, ignoring any whose (chat, dedup_key) exists; return how many are new."""
    return len(enqueue_returning(session, alerts))


ALERT_COLUMNS = (
    "chat_id",
    "dedup_key",
    "kind",
    "priority",
    "payload",
    "status",
    "not_before",
    "created_at",
    "attempts",
)


def enqueue_returning(session: Session, alerts: list[NewAlert]) -> list[tuple[int, str]]:
    """Insert alerts, ignoring any whose (chat, dedup_key) exists; return the (chat_id,
    dedup_key) of those that are new."""
    now = utcnow()
    rows = [
        (
            a.chat_id,
            a.dedup_key[:200],
            a.kind,
            a.priority,
            a.payload,
            "pending",
            a.not_before or now,
            now,
            0,
        )
        for a in alerts
    ]
    table = Alert.__table__  # type: ignore[attr-defined]
    inserted = insert_new(
        session,
        table,
        ALERT_COLUMNS,
        rows,
        unique=("chat_id", "dedup_key"),
        returning=("chat_id", "dedup_key"),
    )
    metrics.alerts_queued(alerts, inserted)
    if inserted:
        notify_outbox(session)  # every replica's sender wakes when this commits
    return [(chat_id, key) for chat_id, key in inserted]


def withdraw_pending(session: Session, dedup_keys: Collection[str]) -> list[tuple[int, str]]:
    """Delete the unsent, unclaimed alerts with these keys (written in this transaction and
    found not to be news after all); return their (chat_id, dedup_key)."""
    keys = list(dedup_keys)
    withdrawn: list[tuple[int, str]] = []
    for start in range(0, len(keys), KEYS_PER_IN):
        result = session.execute(
            delete(Alert)
            .where(col(Alert.dedup_key).in_(keys[start : start + KEYS_PER_IN]))
            .where(col(Alert.status) == "pending")
            .returning(col(Alert.chat_id), col(Alert.dedup_key))
        )
        withdrawn += [(chat_id, key) for chat_id, key in result]
    return withdrawn


def cancel_pending(session: Session, dedup_prefix: str) -> int:
    """Cancel unsent alerts whose dedup key starts with the prefix (e.g. an old occurrence)."""
    result = session.execute(
        update(Alert)
        .where(col(Alert.dedup_key).startswith(dedup_prefix, autoescape=True))
        .where(col(Alert.status) == "pending")
        .values(status="cancelled")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
