"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when DATABASE_URL says so)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.fakebot import FakeBotAPI, ServedAPI, serve

POSTGRES_PREFIXES = ("postgresql", "postgres")


def _reset_postgres(url: str) -> None:
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1)
        if url.startswith("postgresql://")
        else url
    )
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database URL with an empty schema, private to the test."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(POSTGRES_PREFIXES):
        _reset_postgres(configured)
        yield configured
    else:
        yield f"sqlite:///{tmp_path / 'herald.db'}"


@pytest.fixture
async def bot_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ServedAPI]:
    """A fake Bot API on 127.0.0.1, with TELEGRAM_API_URL pointing at it."""
    served = serve(FakeBotAPI())
    monkeypatch.setenv("TELEGRAM_API_URL", served.base_url)
    yield served
    served.server.stop()
