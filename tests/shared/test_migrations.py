"""Versioned migrations: applied once, safe to run again, on PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

from shared.db import bind_database, database
from shared.migrations import LATEST_VERSION, applied_versions, migrate, pending_versions
from shared.models import ALL_MODELS


def test_migrations_are_recorded_and_a_second_run_applies_nothing(db: str) -> None:
    assert pending_versions() == []
    assert migrate() == []
    with database.connection_context():
        assert max(applied_versions()) == LATEST_VERSION


def test_a_new_sqlite_database_gets_every_table(tmp_path: Path, db: str) -> None:
    try:
        bind_database(f"sqlite:///{tmp_path}/fresh/kbm.sqlite3")
        assert pending_versions() == [LATEST_VERSION]
        assert [migration.version for migration in migrate()] == [LATEST_VERSION]
        assert migrate() == []
        with database.connection_context():
            tables = set(database.get_tables())
        assert {model._meta.table_name for model in ALL_MODELS} <= tables
    finally:
        database.close()
        bind_database(db)
