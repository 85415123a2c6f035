"""The suite's own PostgreSQL database: it never empties or drops one it did not create."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import STORE_FREE, _admin_engine, _empty_schema


def test_a_database_the_suite_did_not_create_is_refused_and_left_intact(
    postgres_test_url: str | None,
) -> None:
    if postgres_test_url is None:
        pytest.skip("only PostgreSQL databases are created by the suite")
    admin = _admin_engine(postgres_test_url)
    name = f"someone_elses_{secrets.token_hex(4)}"  # no mark: like a user's real database
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    foreign = make_url(postgres_test_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(foreign)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE precious (id int)"))
        with pytest.raises(RuntimeError, match="did not create it"):
            _empty_schema(foreign)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM precious")).scalar() == 0
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_run_points_database_url_at_its_own_database(postgres_test_url: str | None) -> None:
    if postgres_test_url is None:
        pytest.skip("SQLite tests use a file per test")
    assert os.environ["DATABASE_URL"] == postgres_test_url
    assert (make_url(postgres_test_url).database or "").startswith("herald_test_")


STORE_WORDS = ("bot.store", "Runtime", "make_engine", "session_scope", "database_url",
               "DATABASE_URL", "herald:", "running_herald", "engine")  # fmt: skip


@pytest.mark.parametrize("name", sorted(STORE_FREE))
def test_files_left_out_of_the_postgresql_stage_never_reach_a_store(name: str) -> None:
    """A file the PostgreSQL stage skips must not touch the store, directly or by a fixture:
    else it would silently stop being run against PostgreSQL."""
    text = (Path(__file__).parent / name).read_text(encoding="utf-8")
    assert [word for word in STORE_WORDS if word in text] == []
