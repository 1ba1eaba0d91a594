"""Versioned migrations: applied once, safe to run again, on PostgreSQL and SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.db import bind_database, database
from shared.errors import ConfigurationError
from shared.migrations import (
    LATEST_VERSION,
    SCHEMA_POLL_SECONDS,
    applied_versions,
    migrate,
    pending_versions,
    require_schema,
)
from shared.models import ALL_MODELS


def test_migrations_are_recorded_and_a_second_run_applies_nothing(db: str) -> None:
    assert pending_versions() == []
    assert migrate() == []
    with database.connection_context():
        assert max(applied_versions()) == LATEST_VERSION


def test_a_new_sqlite_database_gets_every_table(tmp_path: Path, db: str) -> None:
    try:
        bind_database(f"sqlite:///{tmp_path}/fresh/kbm.sqlite3")
        everything = list(range(1, LATEST_VERSION + 1))
        assert pending_versions() == everything
        assert [migration.version for migration in migrate()] == everything
        assert migrate() == []
        with database.connection_context():
            tables = set(database.get_tables())
        assert {model._meta.table_name for model in ALL_MODELS} <= tables
    finally:
        database.close()
        bind_database(db)


def test_migration_2_adds_its_columns_to_a_table_that_lacks_them(tmp_path: Path, db: str) -> None:
    from shared.migrations import MIGRATIONS

    try:
        bind_database(f"sqlite:///{tmp_path}/old.sqlite3")
        migrate()
        with database.connection_context():
            database.execute_sql("ALTER TABLE enrichment DROP COLUMN cost_usd")
            assert "cost_usd" not in {c.name for c in database.get_columns("enrichment")}
            MIGRATIONS[1].apply(database.obj)
            MIGRATIONS[1].apply(database.obj)  # idempotent
            assert "cost_usd" in {c.name for c in database.get_columns("enrichment")}
    finally:
        database.close()
        bind_database(db)


def test_a_database_without_the_schema_is_refused_by_name(tmp_path: Path, db: str) -> None:
    url = f"sqlite:///{tmp_path}/empty/kbm.sqlite3"
    try:
        bind_database(url)
        with pytest.raises(ConfigurationError) as refused:
            require_schema(url)
        message = str(refused.value)
        assert f"the database at {url} has none of the system's tables" in message
        assert "kbm migrate" in message and "DATABASE_URL" in message
    finally:
        database.close()
        bind_database(db)


def test_a_service_waits_for_the_migration_under_way(tmp_path: Path, db: str) -> None:
    url = f"sqlite:///{tmp_path}/upgrading.sqlite3"
    waits: list[float] = []

    def migrate_meanwhile(seconds: float) -> None:
        # The new version's process waits while `kbm migrate` runs beside it.
        waits.append(seconds)
        migrate()

    try:
        bind_database(url)
        migrate()
        with database.connection_context():
            database.execute_sql("DELETE FROM schema_version WHERE version = ?", (LATEST_VERSION,))
        assert pending_versions() == [LATEST_VERSION]
        require_schema(url, wait=False)  # the launcher: not the wrong database, go on
        require_schema(url, sleep=migrate_meanwhile)
        assert waits == [SCHEMA_POLL_SECONDS]
        assert pending_versions() == []
    finally:
        database.close()
        bind_database(db)


def test_a_worker_command_on_an_empty_database_stops_with_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/kbm.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    for argv in (
        [str(Path(sys.executable).with_name("kbm")), "worker", "parser", "--processes", "1"],
        [sys.executable, "scripts/start_workers.py", "--queue", "parsing"],
    ):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"error: the database at sqlite:///{tmp_path}/kbm.sqlite3 has none of the "
            "system's tables: run `kbm migrate` against it, or set DATABASE_URL to the "
            "system's database (every service needs it beside REDIS_URL)"
        ]
