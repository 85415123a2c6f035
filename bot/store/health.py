"""Is the store still the one we opened, and can we write to it? Checked every delivery pass.

A SQLite file deleted or replaced under a running process does not fail: the open
connections keep writing to the old, unlinked file, and all of it is gone at the next start.
A file that turned read-only fails every write, and the connections opened meanwhile stay
read-only even after it is writable again. So at each delivery pass `StoreGuard.check`
compares the file at the path with the one opened (device and inode), opens it for writing,
and writes one `State` row; on a fault delivery pauses, `/readyz` says what is wrong, and once
the store is whole again the pool is reopened and work resumes by itself.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot import metrics
from bot.store.db import migrate, session_scope
from bot.store.models import State, utcnow

log = logging.getLogger(__name__)

PROBE_KEY = "store_probe"
PROBE_EVERY_S = 1.0  # at most one write probe a second, however fast passes come


def sqlite_path(engine: Engine) -> Path | None:
    """The file behind a SQLite engine (None for PostgreSQL or an in-memory database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def never_create(engine: Engine) -> None:
    """Open the SQLite file read-write only, never creating it: a deleted file then fails
    loudly instead of coming back empty (call once the schema exists)."""
    path = sqlite_path(engine)
    if path is None:
        return

    @event.listens_for(engine, "do_connect")
    def _open_existing(
        _dialect: object, _record: object, cargs: list[object], cparams: dict[str, object]
    ) -> None:
        cargs.clear()
        cparams["database"] = f"file:{quote(str(path.resolve()))}?mode=rw"
        cparams["uri"] = True


class StoreGuard:
    """The store's health, as one problem text (None when all is well)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.path = sqlite_path(engine)
        self.problem: str | None = None
        self._identity: tuple[int, int] | None = None
        self._probed_at = float("-inf")

    def opened(self) -> None:
        """Remember which file is the store (after the schema is in place)."""
        if self.path is not None:
            st = self.path.stat()
            self._identity = (st.st_dev, st.st_ino)

    def check(self) -> bool:
        """Check the store now; log and record any change of state; True when healthy."""
        problem = self._file_problem() or self._probe()
        if problem != self.problem:
            if problem is not None:
                log.error("store fault: %s; delivery paused until it is fixed", problem)
            else:
                log.warning("store healthy again (%s); resuming", self.problem)
                self.engine.dispose()  # connections opened during the fault may be read-only
            self.problem = problem
        metrics.store_ok(problem is None)
        return problem is None

    def _file_problem(self) -> str | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return f"database file {self.path} is missing (deleted or moved); put it back"
        except OSError as exc:
            return f"database file {self.path} cannot be read: {exc.strerror}"
        if self._identity is not None and (st.st_dev, st.st_ino) != self._identity:
            log.error("database file %s was replaced; switching to the file now there", self.path)
            self.engine.dispose()
            try:
                migrate(self.engine)
            except Exception as exc:
                return f"database file {self.path} was replaced by one Herald cannot use: {exc}"
            self._identity = (st.st_dev, st.st_ino)
            self._probed_at = float("-inf")
        # access(2), never open(): closing any descriptor of the file would drop the POSIX
        # locks SQLite holds on it in this process, and another process could then delete
        # the WAL under it (https://www.sqlite.org/howtocorrupt.html, section 2.2).
        if not os.access(self.path, os.W_OK):
            return f"database file {self.path} is not writable"
        return None

    def _probe(self) -> str | None:
        """Write one row (at most once a second): the store takes writes."""
        now = time.monotonic()
        if self.problem is None and now - self._probed_at < PROBE_EVERY_S:
            return None
        try:
            with session_scope(self.engine) as session:
                row = session.get(State, PROBE_KEY) or State(key=PROBE_KEY, value="")
                row.value = utcnow().isoformat()
                session.add(row)
        except SQLAlchemyError as exc:
            return f"the store refuses writes: {getattr(exc, 'orig', None) or exc}"
        self._probed_at = now
        return None
