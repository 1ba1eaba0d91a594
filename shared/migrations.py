"""Versioned, idempotent schema migrations (``kbm migrate``).

Each migration runs once, in its own transaction, and is recorded in ``schema_version``.
On PostgreSQL an advisory lock makes concurrent runs (a deploy Job and a developer) safe.
A migration added later must itself tolerate a schema that already has its change,
because migration 1 creates the tables from the current models.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import peewee
from peewee import Database
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run_migrations

from shared.db import database, is_postgres
from shared.errors import ConfigurationError
from shared.feeding import install_request_counters
from shared.models import (
    ALL_MODELS,
    LIBRARY_FIELDS,
    BaseModel,
    Content,
    Enrichment,
    Feed,
    FeedEntry,
    Link,
    Publication,
    RecurringRun,
    StageRun,
    Tag,
    Task,
    TaskItem,
)
from shared.redact import redact_urls
from shared.search import install as install_search

logger = logging.getLogger(__name__)

#: An arbitrary constant: the PostgreSQL advisory lock id of schema migrations.
ADVISORY_LOCK_ID = 7_463_201


@dataclass(frozen=True)
class Migration:
    """One schema change."""

    version: int
    name: str
    apply: Callable[[Database], None]


def _create_tables(db: Database) -> None:
    db.create_tables(ALL_MODELS, safe=True)


def _add_missing_columns(db: Database, model: type[BaseModel], names: Sequence[str]) -> None:
    """Add the model's fields ``names`` to its table where they are not there yet."""
    table = model._meta.table_name
    present = {column.name for column in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db)
    operations = [
        migrator.add_column(table, field.column_name, field)
        for field in (model._meta.fields[name] for name in names)
        if field.column_name not in present
    ]
    if operations:
        run_migrations(*operations)


def _structure_usage_and_progress(db: Database) -> None:
    _add_missing_columns(db, Content, ["blocks", "canonical_url", "duplicate_of"])
    _add_missing_columns(db, Enrichment, ["cost_usd"])
    _add_missing_columns(db, Publication, ["state", "blocks_written", "content_hash"])


def _feeding(db: Database) -> None:
    _add_missing_columns(db, Task, ["priority", "feed_rank", "fed_at"])
    # On an existing table this only adds the model's missing indexes (IF NOT EXISTS).
    db.create_tables([TaskItem], safe=True)


def _scheduling(db: Database) -> None:
    _add_missing_columns(db, Task, ["run_at"])
    # New tables, and on the existing tasks table only its missing index (IF NOT EXISTS).
    db.create_tables([Task, Feed, FeedEntry, RecurringRun], safe=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create tables", _create_tables),
    Migration(2, "article structure, AI cost, publishing progress", _structure_usage_and_progress),
    Migration(
        3, "worker running each stage", lambda db: _add_missing_columns(db, StageRun, ["worker"])
    ),
    Migration(4, "task owner", lambda db: _add_missing_columns(db, Task, ["owner"])),
    Migration(5, "task priority and feeding indexes", _feeding),
    Migration(6, "scheduled tasks, feeds and recurring jobs", _scheduling),
    Migration(
        7, "imported library metadata", lambda db: _add_missing_columns(db, Link, LIBRARY_FIELDS)
    ),
    Migration(
        8,
        "properties last written to Notion",
        lambda db: _add_missing_columns(db, Publication, ["written_properties"]),
    ),
    Migration(
        9,
        "page type of the content",
        lambda db: _add_missing_columns(db, Content, ["page_type"]),
    ),
    Migration(
        10,
        "tag vocabulary: normal key and source of tags",
        lambda db: _add_missing_columns(db, Tag, ["key", "source"]),
    ),
    Migration(11, "full-text search of links", install_search),
    Migration(12, "what created a task", lambda db: _add_missing_columns(db, Task, ["source"])),
    Migration(13, "feed request counters", install_request_counters),
)

LATEST_VERSION = MIGRATIONS[-1].version


def _ensure_version_table(db: Database) -> None:
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )


def applied_versions() -> set[int]:
    """Return the versions already applied (empty on a new database)."""
    db = database.obj
    _ensure_version_table(db)
    return {row[0] for row in db.execute_sql("SELECT version FROM schema_version").fetchall()}


def migrate() -> list[Migration]:
    """Apply every pending migration; return those applied (none when up to date)."""
    db = database.obj
    applied: list[Migration] = []
    with db.connection_context():
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_ID,))
        try:
            done = applied_versions()
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                with db.atomic():
                    migration.apply(db)
                    db.execute_sql(
                        "INSERT INTO schema_version (version, name) VALUES (%s, %s)"
                        if is_postgres()
                        else "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                        (migration.version, migration.name),
                    )
                logger.info("applied migration %d: %s", migration.version, migration.name)
                applied.append(migration)
        finally:
            if is_postgres():
                db.execute_sql("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_ID,))
    return applied


def pending_versions() -> list[int]:
    """Return the versions not yet applied, without writing anything (health checks)."""
    db = database.obj
    with db.connection_context():
        if "schema_version" not in db.get_tables():
            done: set[int] = set()
        else:
            rows = db.execute_sql("SELECT version FROM schema_version").fetchall()
            done = {row[0] for row in rows}
    return [migration.version for migration in MIGRATIONS if migration.version not in done]


#: Seconds between two looks at a database that waits for ``kbm migrate``.
SCHEMA_POLL_SECONDS = 5.0


def require_schema(
    url: str, *, wait: bool = True, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Return once the database at ``url`` has the current schema.

    A database without any of the system's tables is the wrong one — a unit copied
    from an older setup without ``DATABASE_URL`` opens an empty local SQLite file — or
    one never migrated: raise :class:`ConfigurationError` naming it, rather than take
    messages and fail every one. A database that lacks only the newest migrations is
    being upgraded (``kbm migrate`` runs beside the new version's processes): wait for
    it, saying so, unless ``wait`` is false. A database that cannot be reached is an
    outage, not a setting: return, and let messages wait for it.
    """
    while True:
        try:
            pending = pending_versions()
        except peewee.DatabaseError as ex:
            logger.warning("could not check the schema of %s: %r", redact_urls(url), ex)
            return
        if not pending:
            return
        if len(pending) == len(MIGRATIONS):
            raise ConfigurationError(
                f"the database at {redact_urls(url)} has none of the system's tables: run "
                "`kbm migrate` against it, or set DATABASE_URL to the system's database "
                "(every service needs it beside REDIS_URL)"
            )
        if not wait:
            return
        logger.error(
            "waiting for `kbm migrate`: the database at %s lacks migrations %s",
            redact_urls(url),
            ", ".join(map(str, pending)),
        )
        sleep(SCHEMA_POLL_SECONDS)
