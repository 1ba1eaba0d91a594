"""An item's attempts are its current stage's; a stage counts the items that ended before it."""

from __future__ import annotations

from shared import items
from shared.db import database
from shared.models import Task, TaskItem
from shared.tasks import TaskService
from shared.views import item_view, task_detail

STAGES = ["parse", "enrich", "publish"]


def _run(item_id: int, stage: str, *, fail: bool = False) -> None:
    decision = items.current().start_stage(item_id, stage)
    assert decision.run, decision.reason
    if fail:
        items.current().fail_stage(
            item_id, stage, "GET x answered HTTP 404", final=True, attempt=decision.attempt
        )
    else:
        items.current().finish_stage(item_id, stage)


def test_attempts_are_the_current_stages_and_the_total_is_kept_apart(
    service: TaskService,
) -> None:
    # Given a task of two links: one goes through parse and enrich and fails at
    # publish, the other fails at parse
    task_id = service.create_task(
        urls=["https://example.com/through", "https://example.com/dead"], stages=STAGES
    )["task_id"]
    with database.connection_context():
        through, dead = TaskItem.select().where(TaskItem.task == task_id).order_by(TaskItem.id)
    _run(through.id, "parse")
    _run(through.id, "enrich")
    _run(through.id, "publish", fail=True)
    _run(dead.id, "parse", fail=True)

    # When their items are listed (with their runs, as the gateway does, and without)
    listed = {item["id"]: item for item in service.list_items(task_id)["items"]}
    with database.connection_context():
        alone = item_view(TaskItem.get_by_id(through.id))

    # Then each shows the attempts of the stage it is at, and every stage's in total
    assert (listed[through.id]["attempts"], listed[through.id]["total_attempts"]) == (1, 3)
    assert (alone["attempts"], alone["total_attempts"]) == (1, 3)
    assert (listed[dead.id]["stage"], listed[dead.id]["attempts"]) == ("parse", 1)

    # And the later stages count the item that ended at parse as done with
    with database.connection_context():
        counts = task_detail(Task.get_by_id(task_id))["stage_counts"]
    assert [counts[stage]["ended_before"] for stage in STAGES] == [0, 1, 1]
    assert counts["publish"]["failed"] == 1
