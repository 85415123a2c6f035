"""Which replica runs the scheduler: the holder of a PostgreSQL advisory lock (SQLite: always).

The lock lives on a connection of its own, opened outside the pool, so that closing it really
ends the session (and with it the lock). Both ends of that connection are set to notice a dead
peer within seconds: the client through `tcp_user_timeout` and keepalives, the server through
the same settings for its side of the session. The leader calls `check()` every few seconds;
when the connection is gone or the lock is no longer held, the leader steps down before any
other replica can have taken the lock (see docs/architecture.md, "Several replicas").
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# Any constant shared by every replica of one deployment; "HERL" in ASCII.
LEADER_LOCK_KEY = 0x4845524C
APPLICATION_NAME = "herald-leader"  # how the lock connection shows in pg_stat_activity
CONNECT_TIMEOUT_S = 3
# Client side: a request unanswered for this long fails (a cut network is noticed).
CLIENT_TCP_USER_TIMEOUT_MS = 3000
# Server side: a silent client is dropped after about idle + interval * count seconds, and the
# lock freed. The leader checks more often than that, so it notices first.
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": 4,
    "tcp_keepalives_interval": 1,
    "tcp_keepalives_count": 3,
}
SERVER_TCP_USER_TIMEOUT_MS = 6000
STATEMENT_TIMEOUT_MS = 3000

HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = 0 AND objid::bigint = :key AND objsubid = 1)"
)


def stamp() -> str:
    """Wall-clock time in leadership log lines, so logs of two replicas can be compared."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _session_options() -> str:
    settings = dict(SERVER_KEEPALIVES)
    settings["tcp_user_timeout"] = SERVER_TCP_USER_TIMEOUT_MS
    settings["statement_timeout"] = STATEMENT_TIMEOUT_MS
    return " ".join(f"-c {name}={value}" for name, value in settings.items())


class Leadership:
    """Holds the leader lock on a dedicated connection for as long as the process leads.

    A session-level advisory lock is released by PostgreSQL itself when the holder's
    connection ends, so a crashed leader is replaced by the next replica that tries.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._embedded = engine.dialect.name != "postgresql"
        self._lock_engine: Engine | None = None

    @property
    def embedded(self) -> bool:
        """True on SQLite: one process, always the leader, nothing to check."""
        return self._embedded

    @property
    def is_leader(self) -> bool:
        return self._embedded or self._connection is not None

    def _connect(self) -> Connection:
        if self._lock_engine is None:
            self._lock_engine = create_engine(
                self.engine.url,
                poolclass=NullPool,
                connect_args={
                    "connect_timeout": CONNECT_TIMEOUT_S,
                    "application_name": f"{APPLICATION_NAME}:{os.getpid()}",
                    "keepalives": 1,
                    "keepalives_idle": 1,
                    "keepalives_interval": 1,
                    "keepalives_count": 2,
                    "tcp_user_timeout": CLIENT_TCP_USER_TIMEOUT_MS,
                    "options": _session_options(),
                },
            )
        return self._lock_engine.connect()

    def try_acquire(self) -> bool:
        if self.is_leader:
            return True
        connection = self._connect()
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
            ).scalar()
            connection.commit()  # the lock is session-level: it outlives the transaction
        except Exception:
            _close_quietly(connection)
            raise
        if got:
            self._connection = connection
            log.info("leader lock taken at %s (pid %d)", stamp(), os.getpid())
            return True
        _close_quietly(connection)
        return False

    def check(self) -> str | None:
        """None while the lock is held; else why it is not, the connection then dropped.

        Blocks for at most a few seconds (statement and TCP timeouts): call it from a thread.
        """
        connection = self._connection
        if connection is None:
            return None if self._embedded else "not the leader"
        try:
            held = connection.execute(HOLDS_LOCK, {"key": LEADER_LOCK_KEY}).scalar()
            connection.commit()
        except Exception as exc:
            reason = f"lock connection failed: {type(exc).__name__}: {str(exc).strip()[:200]}"
        else:
            if held:
                return None
            reason = "the lock is no longer held"
        self._drop()
        return reason

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            _close_quietly(connection)

    def release(self) -> None:
        """Give up the lead; never raises, even when the connection is already gone."""
        connection = self._connection
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY})
            connection.commit()
        except Exception as exc:  # the session is gone, and the lock with it
            log.info("leader lock connection already gone at release: %s", type(exc).__name__)
        finally:
            self._drop()
            log.info("leadership released at %s (pid %d)", stamp(), os.getpid())

    def dispose(self) -> None:
        self.release()
        if self._lock_engine is not None:
            self._lock_engine.dispose()
            self._lock_engine = None


def _close_quietly(connection: Connection) -> None:
    with contextlib.suppress(Exception):
        connection.close()
