"""Engine creation (SQLite in WAL mode by default, PostgreSQL via DATABASE_URL) and migrations."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_SQLITE_PATH = Path("data") / "herald.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Prepared statements kept per connection (Python's default: 128). A many-row INSERT of
# store/bulk.py prepares to some 750 KB, and its row count, hence its text, differs from one
# batch to the next: 128 of them held 50 MB per connection (docs/benchmarks.md, scale).
SQLITE_CACHED_STATEMENTS = 16


def database_url(explicit: str | None = None) -> str:
    """The URL to use: the argument, $DATABASE_URL, or a SQLite file under ./data/."""
    url = explicit or os.environ.get("DATABASE_URL")
    if url:
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


READ_ONLY = "herald_read_only"  # execution option: begin the transaction DEFERRED on SQLite


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by _begin_immediate below, not by the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when a transaction begins, not at its first write.

    A transaction that reads and then writes would otherwise fail at once with "database is
    locked" whenever another connection wrote in between (busy_timeout cannot help there);
    begun IMMEDIATE, it waits its turn instead. A `read_scope` begins DEFERRED: it never
    writes, so it need not wait for a writer (WAL lets it read the last commit meanwhile).
    """
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout."""
    resolved = database_url(url)
    if make_url(resolved).get_backend_name() == "sqlite":
        path = make_url(resolved).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            resolved,
            connect_args={
                "check_same_thread": False,
                "cached_statements": SQLITE_CACHED_STATEMENTS,
            },
        )
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(resolved, pool_pre_ping=True, pool_size=10, max_overflow=10)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; safe at every start-up).

    Alembic is imported only when there is something to do: it stays in memory once loaded
    (some 10 MB of RSS, with Mako), and at most start-ups the schema is already current.
    """
    head = head_revision()
    if head is not None and _current_revisions(engine) == [head]:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


_REVISION = re.compile(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=]*=(.*)$", re.M)


def head_revision() -> str | None:
    """The newest migration's id, read from the migration files; None when not exactly one
    (a branch, or a file this cannot read): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if (found := _REVISION.search(text)) is None:
            continue
        revisions.add(found[1])
        if (down := _DOWN_REVISION.search(text)) is not None:
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down[1]))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _current_revisions(engine: Engine) -> list[str]:
    """The revisions the database says it is at (none on a new database)."""
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return [str(row[0]) for row in rows]
    except SQLAlchemyError:
        return []


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """One transaction that only reads, rolled back at the end. On SQLite it does not wait for
    the write lock, so a chat reply is not held up while the news pipeline stores a batch."""
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        with Session(bind=connection, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
