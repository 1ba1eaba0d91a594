"""Statements PostgreSQL plans once per connection, then only executes.

(A pooler in transaction mode, such as PgBouncer's, does not keep prepared statements;
connect the workers to PostgreSQL or to a session-mode pool.)
"""

from __future__ import annotations

import weakref
from typing import Any

from shared.db import database


class Prepared:
    """A statement PostgreSQL plans once per connection (``PREPARE``), then ``EXECUTE``s.

    Planning these CTEs took longer than running them (0.4 to 0.7 ms against 0.2 to
    0.3 ms). ``types`` names each ``%(name)s`` parameter's type, in order.
    """

    def __init__(self, name: str, sql: str, types: dict[str, str]) -> None:
        self.name = name
        self._names = list(types)
        positional = sql
        for position, key in enumerate(self._names, start=1):
            positional = positional.replace(f"%({key})s", f"${position}")
        if "%(" in positional:
            raise ValueError(f"{name}: a parameter has no type")
        self._prepare = f"PREPARE {name} ({', '.join(types.values())}) AS {positional}"
        self._execute = f"EXECUTE {name} ({', '.join(f'%({key})s' for key in self._names)})"
        self._prepared_on: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()

    def one(self, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run the statement on this thread's connection; return its first row."""
        connection = database.connection()
        if connection not in self._prepared_on:
            database.execute_sql(self._prepare)
            self._prepared_on[connection] = True
        return one(self._execute, params)


def one(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run a statement on this thread's connection; return its first row."""
    return database.execute_sql(sql, params).fetchone()
