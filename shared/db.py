"""Database binding: one ``DatabaseProxy`` for every model, bound at process start.

PostgreSQL (pooled connections, one per thread) in every deployment; SQLite for the
embedded local mode and quick experiments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from peewee import Database, DatabaseProxy, Select, SqliteDatabase, Value, fn
from playhouse.pool import PooledPostgresqlDatabase

logger = logging.getLogger(__name__)

database = DatabaseProxy()

#: Rows per statement of :func:`insert_rows`.
INSERT_PAGE = 1000

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 15000,
    "synchronous": "normal",
}


class SqliteImmediateDatabase(SqliteDatabase):
    """SQLite whose transactions take the write lock when they begin.

    A deferred transaction that reads and then writes cannot wait for the lock: two of
    them fail with "database is locked" at once, whatever the busy timeout. Beginning
    with ``IMMEDIATE`` makes writers queue up for the busy timeout instead.
    """

    def begin(self, lock_type: str | None = None) -> None:
        """Begin a transaction holding the write lock."""
        super().begin(lock_type or "IMMEDIATE")


def open_database(url: str, *, max_connections: int = 32) -> Database:
    """Return a database for ``url`` (``postgresql://…`` or ``sqlite:///path``)."""
    if url.startswith("sqlite://"):
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        path = url.removeprefix("sqlite://")
        path = path if path == ":memory:" else path[1:]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteImmediateDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    parts = urlsplit(url)
    return PooledPostgresqlDatabase(
        (parts.path or "/").lstrip("/") or "postgres",
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        max_connections=max_connections,
        stale_timeout=300,
        timeout=30,
        autoconnect=True,
    )


def bind_database(url: str) -> Database:
    """Open the database at ``url`` and bind every model to it."""
    db = open_database(url)
    database.initialize(db)
    return db


#: A parameter value no query uses: where :class:`CompiledQuery` puts its argument.
_MARK = -7_319_511_337


class CompiledQuery:
    """A peewee query whose SQL is built once per database, then only executed.

    Building a query's SQL costs peewee about half a millisecond, more than PostgreSQL
    takes to run a small one. A status read runs the same few queries for one task after
    another: each is built once with a marker in place of its one argument (``build`` is
    called with it), and later runs put the argument where the marker was. The query is
    still written once, in peewee.
    """

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self.build = build
        self._compiled: tuple[int, str, tuple[Any, ...], tuple[int, ...]] | None = None

    def rows(self, value: Any) -> list[tuple[Any, ...]]:
        """Return the query's rows (tuples) for ``value``."""
        compiled = self._compiled
        if compiled is None or compiled[0] != id(database.obj):
            sql, params = self.build(_MARK).sql()
            slots = tuple(n for n, param in enumerate(params) if param == _MARK)
            compiled = self._compiled = (id(database.obj), sql, tuple(params), slots)
        _, sql, template, slots = compiled
        params = list(template)
        for slot in slots:
            params[slot] = value
        return list(database.execute_sql(sql, params).fetchall())


def is_postgres() -> bool:
    """Tell whether the bound database is PostgreSQL."""
    return isinstance(database.obj, PooledPostgresqlDatabase)


_Q = TypeVar("_Q", bound=Select)


#: Values per statement of :func:`rows_where_in` on SQLite (its bound-parameter limit).
IN_CHUNK = 500


def rows_where_in(query: Select, column: Any, values: Sequence[Any]) -> list[Any]:
    """Return the rows of ``query`` whose ``column`` is one of ``values``, however many.

    PostgreSQL: one statement with the values as an array (``= ANY``); SQLite: a
    statement per :data:`IN_CHUNK` values.
    """
    if is_postgres():
        return list(
            query.where(column == fn.ANY(Value(list(values), converter=False, unpack=False)))
        )
    rows: list[Any] = []
    for start in range(0, len(values), IN_CHUNK):
        rows += list(query.where(column.in_(list(values[start : start + IN_CHUNK]))))
    return rows


def locked(query: _Q, *, skip_locked: bool = False) -> _Q:
    """Return ``query`` locking the rows it reads until the transaction ends.

    PostgreSQL: ``FOR UPDATE`` (``SKIP LOCKED``: rows another transaction holds are
    skipped, never waited for). SQLite needs none: its transactions take the database's
    write lock as they begin (:class:`SqliteImmediateDatabase`).
    """
    return query.for_update(skip_locked=skip_locked) if is_postgres() else query


def try_transaction_lock(*key: int) -> bool:
    """Take the advisory lock on ``key`` until the transaction ends if it is free.

    Return whether it was taken (never waits). SQLite: always True (its transactions
    hold the database's write lock).
    """
    if not is_postgres():
        return True
    marks = ", ".join("%s" for _ in key)
    row = database.execute_sql(f"SELECT pg_try_advisory_xact_lock({marks})", key).fetchone()
    return bool(row[0])


def insert_rows(
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert many rows, a page per statement, in the current transaction.

    Plain SQL with the driver's own batching: building the statement through the ORM
    costs more than running it when a task brings a hundred thousand rows.
    """
    names = ", ".join(f'"{column}"' for column in columns)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    cursor = database.cursor()
    for start in range(0, len(rows), INSERT_PAGE):
        page = rows[start : start + INSERT_PAGE]
        logger.debug("INSERT INTO %s: %d rows", table, len(page))
        if is_postgres():
            from psycopg2.extras import execute_values

            statement = f'INSERT INTO "{table}" ({names}) VALUES %s{tail}'
            execute_values(cursor, statement, page, page_size=INSERT_PAGE)
        else:
            marks = ", ".join("?" for _ in columns)
            statement = f'INSERT INTO "{table}" ({names}) VALUES ({marks}){tail}'
            cursor.executemany(statement, [_sqlite_row(row) for row in page])


def _sqlite_row(row: Sequence[Any]) -> tuple[Any, ...]:
    # Stored as peewee stores them (Python 3.12 deprecates sqlite3's own adapter).
    return tuple(value.isoformat(" ") if isinstance(value, datetime) else value for value in row)
