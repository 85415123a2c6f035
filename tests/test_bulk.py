"""Many-row inserts: the same stored values as the ORM, conflicts skipped, chunks of any size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.types import DateTime
from sqlmodel import col, select

from bot.services.outbox import ALERT_COLUMNS
from bot.store import bulk
from bot.store.db import session_scope
from bot.store.models import Alert, Chat

WHEN = [
    datetime(2025, 7, 9, 16, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, 0, 250, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
]


@pytest.fixture
def engine(engine: Engine) -> Engine:
    """The migrated store of conftest, with this file's rows in it."""
    with session_scope(engine) as session:
        session.add(Chat(id=1))
    return engine


@pytest.mark.parametrize("value", WHEN)
def test_sqlite_text_is_what_sqlalchemy_stores(value: datetime) -> None:
    dialect = sqlite.dialect()
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert theirs is not None
    assert bulk.sqlite_datetime(value) == theirs(value.astimezone(UTC).replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive"):
        bulk.sqlite_datetime(datetime(2025, 1, 1))


def alert_row(key: str, when: datetime) -> tuple[object, ...]:
    return (1, key, "news", 2, {"title": f"«{key}»", "n": [1, None]}, "pending", when, when, 0)


def test_rows_read_back_through_the_orm_and_conflicts_are_skipped(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "MAX_ROWS_PER_STATEMENT", 2)  # several statements
    table = Alert.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        first = bulk.insert_new(
            session,
            table,
            ALERT_COLUMNS,
            [alert_row("a", WHEN[0])],
            unique=("chat_id", "dedup_key"),
            returning=("dedup_key",),
        )
    rows = [alert_row(key, when) for key, when in zip("abcde", [*WHEN, *WHEN], strict=False)]
    with session_scope(engine) as session:
        again = bulk.insert_new(
            session,
            table,
            ALERT_COLUMNS,
            rows,
            unique=("chat_id", "dedup_key"),
            returning=("chat_id", "dedup_key"),
        )
        none = bulk.insert_new(session, table, ALERT_COLUMNS, [], unique=("chat_id", "dedup_key"))
    with session_scope(engine) as session:
        stored = session.exec(select(Alert).order_by(col(Alert.dedup_key))).all()
        between = session.exec(
            select(Alert.dedup_key).where(col(Alert.not_before) > WHEN[0] - timedelta(hours=1))
        ).all()
    assert first == [("a",)] and none == []
    assert sorted(again) == [(1, "b"), (1, "c"), (1, "d"), (1, "e")]
    assert [a.dedup_key for a in stored] == list("abcde")
    assert [a.not_before for a in stored] == [WHEN[0], WHEN[1], WHEN[2], WHEN[0], WHEN[1]]
    assert all(a.created_at.tzinfo is UTC for a in stored)
    assert stored[1].payload == {"title": "«b»", "n": [1, None]}
    assert sorted(between) == ["a", "b", "d", "e"]
