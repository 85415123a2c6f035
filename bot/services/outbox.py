"""The outbox: every push becomes an alert row, written once per (chat, dedup_key)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.store.models import Alert, utcnow

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
    if not alerts:
        return 0
    now = utcnow()
    rows = [
        {
            "chat_id": a.chat_id,
            "dedup_key": a.dedup_key[:200],
            "kind": a.kind,
            "priority": a.priority,
            "payload": a.payload,
            "status": "pending",
            "not_before": a.not_before or now,
            "created_at": now,
            "attempts": 0,
        }
        for a in alerts
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Alert.__table__  # type: ignore[attr-defined]
    # One statement with many parameter sets: compiled once (a multi-row VALUES clause is
    # compiled anew for every call, which costs more than the insert), sent in batches.
    statement = insert(table).on_conflict_do_nothing(index_elements=["chat_id", "dedup_key"])
    # RETURNING counts what was really inserted; rowcount is -1 on some drivers.
    return len(session.execute(statement.returning(table.c.id), rows).all())


def cancel_pending(session: Session, dedup_prefix: str) -> int:
    """Cancel unsent alerts whose dedup key starts with the prefix (e.g. an old occurrence)."""
    result = session.execute(
        update(Alert)
        .where(col(Alert.dedup_key).startswith(dedup_prefix, autoescape=True))
        .where(col(Alert.status) == "pending")
        .values(status="cancelled")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
