"""Store faults under a running bot: a deleted or read-only SQLite file is noticed within a
delivery pass, /readyz says what is wrong, and work resumes by itself once it is fixed."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.interface.app import HeraldBot
from bot.service import Listen
from bot.services.outbox import NewAlert, enqueue
from bot.store.db import session_scope
from bot.store.models import Alert, Chat
from tests.fakebot import ServedAPI
from tests.helpers import running_herald

ADA = 7201
CONFIG = "timezone: Europe/London\n"
PAYLOAD = {"text": "committed before the fault"}


@pytest.fixture
async def herald(bot_api: ServedAPI, database_url: str) -> AsyncIterator[HeraldBot]:
    if not database_url.startswith("sqlite"):
        pytest.skip("a file store only")
    async with running_herald(CONFIG, database_url, listen=Listen("127.0.0.1", 0)) as bot:
        yield bot


def db_path(herald: HeraldBot) -> Path:
    return Path(str(herald.runtime.engine.url.database))


async def readyz(herald: HeraldBot) -> httpx.Response:
    assert herald.http is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{herald.http.port}") as client:
        return await client.get("/readyz")


async def until(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), timeout_s)


async def until_ready(herald: HeraldBot, ready: bool) -> dict[str, str]:
    """Wait until /readyz answers 200 (ready) or 503; return its problems."""

    async def wait() -> dict[str, str]:
        while True:
            answer = await readyz(herald)
            if (answer.status_code == 200) == ready:
                return dict(answer.json()["problems"])
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(wait(), 30)


async def started_chat(herald: HeraldBot, api: ServedAPI) -> None:
    await api.api.push_text(ADA, "/start")
    await api.api.wait_for(lambda: bool(api.api.sent(ADA)))


def alert_status(herald: HeraldBot) -> str | None:
    with session_scope(herald.runtime.engine) as session:
        row = session.exec(select(Alert).where(Alert.dedup_key == "fault-test")).first()
        return None if row is None else row.status


def queue_alert(herald: HeraldBot) -> None:
    with session_scope(herald.runtime.engine) as session:
        enqueue(session, [NewAlert(ADA, "fault-test", "notice", PAYLOAD)])
    herald.runtime.outbox.notify()


async def test_a_deleted_file_is_reported_and_work_resumes_when_it_is_back(
    herald: HeraldBot, bot_api: ServedAPI, caplog: pytest.LogCaptureFixture
) -> None:
    await started_chat(herald, bot_api)
    path = db_path(herald)
    backup = path.with_name("backup.db")
    with sqlite3.connect(path) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)  # the operator's online backup, taken before the fault
    path.unlink()

    problems = await until_ready(herald, ready=False)
    assert "is missing" in problems["store"]
    assert any("store fault" in r.message and "missing" in r.message for r in caplog.records)

    shutil.copy(backup, path)  # put back
    assert await until_ready(herald, ready=True) == {}
    with session_scope(herald.runtime.engine) as session:
        assert session.get(Chat, ADA) is not None  # committed before the fault: kept
    queue_alert(herald)
    await until(lambda: alert_status(herald) == "sent")


async def test_a_read_only_file_pauses_delivery_until_it_is_writable_again(
    herald: HeraldBot, bot_api: ServedAPI, caplog: pytest.LogCaptureFixture
) -> None:
    await started_chat(herald, bot_api)
    path = db_path(herald)
    await herald.delivery.stop()
    queue_alert(herald)  # committed before the fault, not sent yet
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("cannot make the file read-only here (chattr)")
    try:
        herald.delivery.start()
        problems = await until_ready(herald, ready=False)
        assert "not writable" in problems["store"]
        assert any("store fault" in r.message for r in caplog.records)
        assert alert_status(herald) == "pending"
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    assert await until_ready(herald, ready=True) == {}
    await until(lambda: alert_status(herald) == "sent")
    assert any("store healthy again" in r.message for r in caplog.records)


def test_the_store_check_keeps_sqlites_locks_so_another_process_cannot_delete_the_wal(
    tmp_path: Path,
) -> None:
    """Closing any descriptor of the database file drops this process's POSIX locks on it;
    another process closing its own connection would then delete the WAL under Herald."""
    import subprocess
    import sys

    from sqlalchemy import text

    from bot.store.db import make_engine, migrate
    from bot.store.health import StoreGuard

    path = tmp_path / "herald.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    held = engine.connect()  # Herald's own open connection, in WAL mode
    held.execute(text("SELECT count(*) FROM chat")).all()
    held.commit()  # open, but not inside a transaction (that would hold the write lock)
    wal = Path(f"{path}-wal")
    try:
        assert StoreGuard(engine).check()
        assert wal.exists()
        closing = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM sqlite_master').fetchall(); c.close()"
        subprocess.run([sys.executable, "-c", closing, str(path)], check=True, timeout=30)
        assert wal.exists(), "another process deleted the WAL of a database Herald holds open"
    finally:
        held.close()
        engine.dispose()
