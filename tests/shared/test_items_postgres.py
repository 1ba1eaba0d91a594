"""What only the PostgreSQL backend has: statements prepared on each connection."""

from __future__ import annotations

import pytest

from shared import items
from shared.broker import build_broker
from shared.db import database
from shared.items.prepared import Prepared
from shared.models import TaskItem
from shared.settings import Settings
from shared.tasks import TaskService


def test_prepared_statements_are_prepared_again_on_a_new_connection(
    settings: Settings,
) -> None:
    service = TaskService(build_broker(settings, stub=True))
    created = service.create_task(urls=[f"https://example.org/re/{n}" for n in range(2)])
    first, second = TaskItem.select().where(TaskItem.task == created["task_id"])
    assert items.current().start_stage(first.id, "parse").run
    # When the connection is replaced (a database restart, a recycled pool connection)
    database.close()
    database.obj.close_all()
    database.connect()
    # Then the statements are prepared on the new one and run as before
    assert items.current().start_stage(second.id, "parse").run
    assert items.current().finish_stage(second.id, "parse").following == "enrich"
    names = database.execute_sql("SELECT name FROM pg_prepared_statements").fetchall()
    expected = {"kbm_read_item", "kbm_begin_run", "kbm_end_stage_pending"}
    assert expected <= {name for (name,) in names}


def test_a_prepared_statement_names_a_parameter_without_a_type() -> None:
    with pytest.raises(ValueError, match="kbm_example: a parameter has no type"):
        Prepared("kbm_example", "SELECT %(a)s, %(b)s", {"a": "integer"})
