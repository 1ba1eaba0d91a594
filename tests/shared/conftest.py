"""The item contract suite's backends: every scenario on PostgreSQL and on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import items
from shared.broker import build_broker
from shared.db import bind_database, database
from shared.items.postgres import PostgresItems
from shared.items.sqlite import SqliteItems
from shared.migrations import migrate
from shared.settings import Settings
from shared.tasks import TaskService


@pytest.fixture()
def service(settings: Settings) -> TaskService:
    """A task service over an in-memory broker (no worker takes its messages)."""
    return TaskService(build_broker(settings, stub=True))


BACKENDS = {"postgresql": PostgresItems, "sqlite": SqliteItems}


@pytest.fixture(params=list(BACKENDS))
def item_backend(request: pytest.FixtureRequest, db: str, tmp_path: Path) -> Iterator[str]:
    """Bind PostgreSQL (the session's database) or a new SQLite file (local mode)."""
    name = str(request.param)
    if name == "sqlite":
        database.close()
        bind_database(f"sqlite:///{tmp_path}/items.db")
        migrate()
    assert isinstance(items.current(), BACKENDS[name])
    yield name
    if name == "sqlite":
        database.close()
        bind_database(db)
