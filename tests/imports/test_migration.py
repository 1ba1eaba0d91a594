"""Migration 7 adds the library columns to a ``link`` table made before them."""

from __future__ import annotations

import uuid

import psycopg2
from psycopg2 import sql

from shared.db import open_database
from shared.migrations import LIBRARY_FIELDS, MIGRATIONS
from tests.conftest import ADMIN_URL


def test_migration_7_adds_the_library_columns_once() -> None:
    name = f"kbm_test_m7_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = open_database(f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    try:
        db.execute_sql(
            "CREATE TABLE link (id SERIAL PRIMARY KEY, url TEXT NOT NULL, normalized_url TEXT"
            " NOT NULL UNIQUE, status VARCHAR(16) NOT NULL, created_at TIMESTAMP NOT NULL,"
            " updated_at TIMESTAMP NOT NULL)"
        )
        db.execute_sql(
            "INSERT INTO link (url, normalized_url, status, created_at, updated_at)"
            " VALUES ('https://a.example/', 'https://a.example/', 'new', now(), now())"
        )
        (migration,) = [m for m in MIGRATIONS if m.version == 7]
        assert migration.name == "imported library metadata"
        migration.apply(db)
        migration.apply(db)  # a schema that already has the columns is left as it is
        columns = {column.name for column in db.get_columns("link")}
        assert set(LIBRARY_FIELDS) <= columns
        row = db.execute_sql("SELECT user_tags, saved_at, favourite FROM link").fetchone()
        assert row == (None, None, None)
    finally:
        db.close_all()  # type: ignore[attr-defined]  # a pooled database
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


def test_migrations_are_sorted_by_version() -> None:
    versions = [migration.version for migration in MIGRATIONS]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
