"""PostgreSQL LISTEN/NOTIFY: an alert written on any replica wakes every replica's sender.

`enqueue` sends a NOTIFY on `OUTBOX_CHANNEL` in the transaction that writes the alerts;
PostgreSQL delivers it to every listener when that transaction commits (never before, never
for a rolled-back one). Each process listens on a connection of its own and turns every
notification into `OutboxSignal.notify()`. If the listening connection fails, the delivery
worker's one-second poll still finds the rows while the listener reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

if TYPE_CHECKING:
    from bot.services.outbox import OutboxSignal

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "herald_outbox"
RECONNECT_S = 1.0
CONNECT_TIMEOUT_S = 3


def notify_outbox(session: Session) -> None:
    """Wake every replica's sender when this session's transaction commits (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})


def _conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class OutboxListener:
    """LISTENs on a dedicated async connection and wakes the local sender on every NOTIFY."""

    def __init__(self, engine: Engine, outbox: OutboxSignal) -> None:
        self.engine = engine
        self.outbox = outbox
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while a LISTEN is in place

    @property
    def enabled(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="herald-outbox-listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "outbox listener lost its connection (%s); reconnecting in %.0f s",
                    type(exc).__name__,
                    RECONNECT_S,
                )
            self.listening.clear()
            await asyncio.sleep(RECONNECT_S)

    async def _listen(self) -> None:
        options: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S}
        import psycopg  # here: a SQLite deployment never loads libpq (some 20 MB)

        connection = await psycopg.AsyncConnection.connect(_conninfo(self.engine), **options)
        async with connection:
            await connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
            self.listening.set()
            self.outbox.notify()  # rows written while not listening
            async for _ in connection.notifies():
                self.outbox.notify()
