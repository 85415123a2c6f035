"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when DATABASE_URL says so).

On PostgreSQL the suite never touches the database that DATABASE_URL names: it only connects
there to create a database of its own (``herald_test_<pid>_<random>``, marked with a comment),
empties that one between tests, and drops it at the end. A database the suite did not create
is never dropped or wiped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from bot.interface.app import HeraldBot
from bot.store.db import make_engine, migrate
from tests.fakebot import FakeBotAPI, ServedAPI, serve
from tests.helpers import running_herald

POSTGRES_PREFIXES = ("postgresql", "postgres")
# Test files that never reach a store (pure parsing, matching, rendering, time): the
# PostgreSQL stage of CI would run them exactly as the SQLite one did, so it leaves them out.
# tests/test_test_database.py checks that none of them names the store.
STORE_FREE = frozenset(
    f"test_{name}.py"
    for name in (
        "access", "deadline_finder", "dedup", "ics", "natural", "news_render", "offsets",
        "opml", "pacing", "parse", "query", "quiet", "recurrence", "render", "retry",
        "split", "ssrf", "stories",
    )
)  # fmt: skip


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """On PostgreSQL, leave the store-free files out before collection (not deselected after
    it, which would make their snapshots look unused to syrupy and fail the run)."""
    if not os.environ.get("DATABASE_URL", "").startswith(POSTGRES_PREFIXES):
        return None
    return True if collection_path.name in STORE_FREE else None


TEST_DATABASE_PREFIX = "herald_test_"
TEST_DATABASE_MARK = "created by the Herald test suite; safe to drop"


def _driver_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _admin_engine(configured: str) -> Engine:
    """A connection to the configured server, used only to create and drop our own database."""
    return create_engine(_driver_url(configured), isolation_level="AUTOCOMMIT")


def _is_ours(engine: Engine, name: str) -> bool:
    with engine.connect() as connection:
        mark = connection.execute(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = :name"
            ),
            {"name": name},
        ).scalar()
    return name.startswith(TEST_DATABASE_PREFIX) and mark == TEST_DATABASE_MARK


def _drop_stale(engine: Engine) -> None:
    """Drop test databases left behind by runs whose process is gone (killed mid-run)."""
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
            {"prefix": TEST_DATABASE_PREFIX + "%"},
        ).scalars()
        for name in list(names):
            pid = name.removeprefix(TEST_DATABASE_PREFIX).split("_", 1)[0]
            if pid.isdigit() and not _alive(int(pid)) and _is_ours(engine, name):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session", autouse=True)
def postgres_test_url() -> Iterator[str | None]:
    """The URL of a PostgreSQL database this test run created, or None on SQLite.

    DATABASE_URL is pointed at it for the whole run, so that nothing a test starts (a
    subprocess, a Runtime built without a URL) can reach the database the user named.
    """
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(POSTGRES_PREFIXES):
        yield None
        return
    name = f"{TEST_DATABASE_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    admin = _admin_engine(configured)
    _drop_stale(admin)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        connection.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{TEST_DATABASE_MARK}'"))
    url = make_url(_driver_url(configured)).set(database=name)
    own = url.render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = own
    try:
        yield own
    finally:
        os.environ["DATABASE_URL"] = configured
        if _is_ours(admin, name):
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_schema(url: str) -> None:
    """Empty the run's own database between tests (refusing any database it did not create)."""
    database = make_url(url).database or ""
    engine = create_engine(url)
    try:
        if not _is_ours(engine, database):
            raise RuntimeError(f"refusing to empty {database!r}: the test suite did not create it")
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path, postgres_test_url: str | None) -> Iterator[str]:
    """A database URL with an empty schema, private to the test."""
    if postgres_test_url is not None:
        _empty_schema(postgres_test_url)
        yield postgres_test_url
    else:
        yield f"sqlite:///{tmp_path / 'herald.db'}"


@pytest.fixture
async def bot_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ServedAPI]:
    """A fake Bot API on 127.0.0.1, with TELEGRAM_API_URL pointing at it."""
    served = serve(FakeBotAPI())
    monkeypatch.setenv("TELEGRAM_API_URL", served.base_url)
    yield served
    served.server.stop()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated, empty store. A test file that needs rows in it overrides this fixture
    with one that takes `engine` and adds them."""
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def herald_config() -> str:
    """The config.yaml text the `herald` fixture starts with; a test file overrides it."""
    return "timezone: Europe/London\n"


@pytest.fixture
async def herald(
    bot_api: ServedAPI, database_url: str, herald_config: str
) -> AsyncIterator[HeraldBot]:
    """Herald running on the fake Bot API, with `herald_config`."""
    async with running_herald(herald_config, database_url) as running:
        yield running
