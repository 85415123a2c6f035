"""Which replica runs the scheduler: the holder of a PostgreSQL advisory lock (SQLite: always)."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

# Any constant shared by every replica of one deployment; "HERL" in ASCII.
LEADER_LOCK_KEY = 0x4845524C


class Leadership:
    """Holds the leader lock on a dedicated connection for as long as the process leads.

    A session-level advisory lock is released by PostgreSQL itself when the holder's
    connection ends, so a crashed leader is replaced by the next replica that tries.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._embedded = engine.dialect.name != "postgresql"

    @property
    def is_leader(self) -> bool:
        return self._embedded or self._connection is not None

    def try_acquire(self) -> bool:
        if self.is_leader:
            return True
        connection = self.engine.connect()
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
            ).scalar()
            connection.commit()  # the lock is session-level: it outlives the transaction
        except Exception:
            connection.close()
            raise
        if got:
            self._connection = connection
            log.info("this replica is the leader: it runs the scheduler")
            return True
        connection.close()
        return False

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY}
            )
            self._connection.commit()
        finally:
            self._connection.close()
            self._connection = None
