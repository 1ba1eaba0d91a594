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
