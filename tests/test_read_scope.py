"""Replies read the store without waiting for the news pipeline's write lock (SQLite)."""

from __future__ import annotations

from pathlib import Path

from bot.store.db import make_engine, migrate, read_scope, session_scope
from bot.store.models import Chat


def test_read_scope_reads_the_last_commit_while_another_connection_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'herald.db'}")
    migrate(engine)
    with session_scope(engine) as session:
        session.add(Chat(id=7, kind="private", timezone="Europe/Paris"))
    writer = engine.connect()
    transaction = writer.begin()  # BEGIN IMMEDIATE: the write lock, as a batch being stored
    try:
        with read_scope(engine) as session:  # a BEGIN IMMEDIATE here would wait, then fail
            chat = session.get(Chat, 7)
            assert chat is not None and chat.timezone == "Europe/Paris"
    finally:
        transaction.rollback()
        writer.close()
        engine.dispose()


def test_read_scope_writes_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'herald.db'}")
    migrate(engine)
    with read_scope(engine) as session:
        session.add(Chat(id=8, kind="private"))
        session.flush()
    with read_scope(engine) as session:
        assert session.get(Chat, 8) is None
    engine.dispose()
