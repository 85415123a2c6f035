"""Many-row INSERTs without the per-row work of SQLAlchemy's executemany.

A news cycle writes tens of thousands of rows (items, their topic matches, alerts). SQLAlchemy
builds and type-processes every parameter set in Python, which costs more than the database's
own work at that size (docs/benchmarks.md). `insert_new` sends the statement SQLAlchemy itself
would send for such an insert, `INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING RETURNING …`,
one per chunk of rows, with each value already in the driver's form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Table
from sqlmodel import Session

from bot.store.models import UTCDateTime

MAX_ROWS_PER_STATEMENT = 1_000
MAX_PARAMETERS = 30_000  # under SQLite's 32,766 and PostgreSQL's 65,535
KEYS_PER_IN = 500  # values per `IN (...)` list, well under SQLite's parameter limit


def sqlite_datetime(value: datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy stores it on SQLite: '2025-07-09 16:00:00.000000', UTC."""
    if value is None:
        return None
    zone = value.tzinfo
    if zone is UTC:  # the usual case: cut "+00:00" off rather than build a naive copy
        return value.isoformat(" ", "microseconds")[:-6]
    if zone is None:
        raise ValueError("naive datetime given to the store; use aware UTC datetimes")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC datetimes")
    return value


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


Convert = Callable[[Any], Any] | None


def _converter(column_type: object, sqlite: bool) -> Convert:
    """How a Python value of this column becomes the driver's value (None: as it is)."""
    if isinstance(column_type, UTCDateTime):
        return sqlite_datetime if sqlite else _aware
    if isinstance(column_type, JSON):
        return _json_text
    return None


def insert_new(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unique: Sequence[str],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows` (values in `columns` order) except those conflicting on `unique`; return
    the `returning` columns of the rows inserted."""
    if not rows:
        return []
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    head, row_sql, tail = _statement_parts(connection.dialect, table, columns, unique, returning)
    bind = _Binder(table, columns, sqlite)
    per_statement = min(MAX_ROWS_PER_STATEMENT, MAX_PARAMETERS // len(columns))
    inserted: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = head + ", ".join([row_sql] * len(chunk)) + tail
        result = connection.exec_driver_sql(sql, bind.parameters(chunk))
        if returning:
            inserted += [tuple(r) for r in result]
    return inserted


def _statement_parts(
    dialect: Any,
    table: Table,
    columns: Sequence[str],
    unique: Sequence[str],
    returning: Sequence[str],
) -> tuple[str, str, str]:
    """The INSERT's head, the placeholders of one row, and its ON CONFLICT / RETURNING tail."""
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    placeholders = [
        f"CAST({marker} AS JSON)"
        if dialect.name != "sqlite" and isinstance(table.c[name].type, JSON)
        else marker
        for name in columns
    ]
    row_sql = f"({', '.join(placeholders)})"
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608 names from table metadata, quoted; values are bound
    tail = f" ON CONFLICT ({', '.join(quote(c) for c in unique)}) DO NOTHING"
    if returning:
        tail += f" RETURNING {', '.join(quote(c) for c in returning)}"
    return head, row_sql, tail


class _Binder:
    """Turns rows into one statement's flat parameter tuple, values converted for the driver."""

    def __init__(self, table: Table, columns: Sequence[str], sqlite: bool) -> None:
        self.converters = [
            (i, c)
            for i, name in enumerate(columns)
            if (c := _converter(table.c[name].type, sqlite)) is not None
        ]
        self.memo: dict[int, tuple[Any, Any]] = {}

    def parameters(self, chunk: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
        parameters: list[Any] = []
        converters, memo = self.converters, self.memo
        for row in chunk:
            if converters:
                row = list(row)
                for index, convert in converters:
                    value = row[index]
                    # Rows share values (one `now` for a whole batch): convert each once.
                    done = memo.get(id(value))
                    if done is None or done[0] is not value:
                        done = memo[id(value)] = (value, convert(value))
                    row[index] = done[1]
            parameters += row
        return tuple(parameters)
