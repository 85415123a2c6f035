"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from bot.store import models  # noqa: F401
from bot.store.db import MIGRATIONS_DIR, head_revision, make_engine, migrate


def test_migrating_twice_leaves_exactly_the_schema_the_models_describe(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # idempotent: a second start-up changes nothing
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_upgrade_keeps_existing_rows(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import text

    from bot.store.db import MIGRATIONS_DIR

    engine = make_engine(database_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0001")
        connection.execute(
            text(
                "INSERT INTO chat (id, kind, active, auto_follow, created_at) "
                "VALUES (-1001, 'group', true, true, '2025-07-01 00:00:00')"
            )
        )
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, digest FROM chat")).all() == [(-1001, "off")]
    engine.dispose()


def test_the_head_read_from_the_files_is_alembics() -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_current_schema_is_not_migrated_again_and_alembic_stays_unloaded(
    database_url: str,
) -> None:
    """Start-up on a current schema skips Alembic (10 MB of RSS once imported)."""
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    code = (
        "import sys; from bot.store.db import make_engine, migrate; "
        f"migrate(make_engine({database_url!r})); print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


def test_chosen_language_is_added_empty_and_dropped_again(database_url: str) -> None:
    """0009 keeps every chat, with no language chosen (each person's app language) and the
    language last seen untouched; going down drops the column alone."""
    from alembic import command
    from sqlalchemy import inspect, text

    engine = make_engine(database_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0008")
        connection.execute(
            text(
                "INSERT INTO chat (id, kind, active, auto_follow, created_at, digest, language)"
                " VALUES (-1002, 'group', true, true, '2025-07-01 00:00:00', 'off', 'de')"
            )
        )
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, language, chosen_language FROM chat")).all()
    assert rows == [(-1002, "de", None)]
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0008")
    columns = {c["name"] for c in inspect(engine).get_columns("chat")}
    assert "chosen_language" not in columns and "language" in columns
    engine.dispose()
