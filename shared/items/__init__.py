"""How an item moves through its task's stages, over the database the process bound.

- ``rules``: the rules, once (when a stage may start, where an item goes after a stage,
  how a task ends);
- ``base``: the state machine (:class:`~shared.items.base.ItemStates`) that reads an
  item, asks the rules, and has its backend write the answer;
- ``postgres`` and ``sqlite``: the backends, one statement (PostgreSQL) or one
  transaction (SQLite, local mode) per step, with the same outcomes (the contract
  suite ``tests/shared/test_items_contract.py`` runs every scenario on both).

The backend is chosen once for the bound database: :func:`current`.
"""

from __future__ import annotations

from peewee import PostgresqlDatabase

from shared.db import database
from shared.items.base import ItemChanged, ItemStates
from shared.items.rules import StartDecision

__all__ = ["ItemChanged", "ItemStates", "StartDecision", "current"]

_chosen: tuple[object, ItemStates] | None = None


def current() -> ItemStates:
    """Return the item state machine of the bound database (chosen once per binding)."""
    global _chosen
    bound = database.obj
    if _chosen is None or _chosen[0] is not bound:
        if isinstance(bound, PostgresqlDatabase):
            from shared.items.postgres import PostgresItems

            _chosen = (bound, PostgresItems())
        else:
            from shared.items.sqlite import SqliteItems

            _chosen = (bound, SqliteItems())
    return _chosen[1]
