"""The item contract: transitions and task counters, the same on PostgreSQL and SQLite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest

from shared import items
from shared.db import database
from shared.models import StageRun, Task, TaskItem
from shared.tasks import TaskService

#: Every test runs on both backends: the contract each one keeps.
pytestmark = pytest.mark.usefixtures("item_backend")


def _task(service: TaskService, count: int = 2, stages: list[str] | None = None) -> Task:
    created = service.create_task(
        urls=[f"http://127.0.0.1/{n}" for n in range(count)], stages=stages
    )
    return Task.get_by_id(created["task_id"])


def _items(task: Task) -> list[TaskItem]:
    return list(TaskItem.select().where(TaskItem.task == task.id).order_by(TaskItem.id))


def _run_all_stages(item: TaskItem, stages: list[str]) -> None:
    for stage in stages:
        assert items.current().start_stage(item.id, stage).run
        items.current().finish_stage(item.id, stage)


def test_a_new_task_and_its_items_are_queued_at_the_first_stage(service: TaskService) -> None:
    task = _task(service)
    assert task.status == "queued"
    assert [(item.stage, item.status) for item in _items(task)] == [("parse", "queued")] * 2


def test_completing_every_stage_completes_the_item_and_the_task(service: TaskService) -> None:
    task = _task(service)
    for item in _items(task):
        _run_all_stages(item, task.stages)
    task = Task.get_by_id(task.id)
    assert (task.status, task.completed_items, task.failed_items) == ("completed", 2, 0)
    assert task.finished_at is not None
    assert {item.status for item in _items(task)} == {"completed"}


def test_a_redelivered_message_of_a_finished_stage_is_skipped_and_not_counted_twice(
    service: TaskService,
) -> None:
    task = _task(service, count=1)
    (item,) = _items(task)
    _run_all_stages(item, task.stages)
    for stage in task.stages:
        decision = items.current().start_stage(item.id, stage)
        assert not decision.run
        assert "already" in decision.reason
        items.current().finish_stage(item.id, stage)
    task = Task.get_by_id(task.id)
    assert (task.completed_items, task.total_items) == (1, 1)


def test_a_failure_that_will_be_retried_keeps_the_item_queued_with_its_error(
    service: TaskService,
) -> None:
    task = _task(service, count=1)
    (item,) = _items(task)
    decision = items.current().start_stage(item.id, "parse")
    items.current().fail_stage(
        item.id, "parse", "FetchError: boom", final=False, attempt=decision.attempt
    )
    item = TaskItem.get_by_id(item.id)
    assert (item.status, item.error) == ("queued", "parse: FetchError: boom")
    run = StageRun.get(item=item.id, stage="parse")
    assert (run.status, run.attempts) == ("queued", 1)


def test_a_late_failure_report_does_not_overwrite_the_retry_already_running(
    service: TaskService,
) -> None:
    task = _task(service, count=1)
    (item,) = _items(task)
    first = items.current().start_stage(item.id, "parse")
    second = items.current().start_stage(item.id, "parse")
    items.current().fail_stage(item.id, "parse", "old", final=False, attempt=first.attempt)
    assert StageRun.get(item=item.id, stage="parse").status == "running"
    assert TaskItem.get_by_id(item.id).status == "running"
    assert second.attempt == first.attempt + 1


def test_deliveries_that_only_met_a_rate_limit_count_towards_neither_attempts_nor_the_guard(
    service: TaskService,
) -> None:
    # Given a stage whose every delivery is told to wait by a remote rate limit
    task = _task(service, count=1)
    (item,) = _items(task)
    for _ in range(5):
        decision = items.current().start_stage(item.id, "parse", max_deliveries=2)
        assert decision.run, decision.reason
        items.current().fail_stage(
            item.id,
            "parse",
            "RateLimited: wait",
            final=False,
            attempt=decision.attempt,
            counts=False,
        )
    # Then the poison guard never fired and no attempt was used up
    item = TaskItem.get_by_id(item.id)
    assert (item.status, item.attempts) == ("queued", 0)
    assert StageRun.get(item=item.id, stage="parse").attempts == 0
    # While deliveries that failed for real still count
    for _ in range(2):
        decision = items.current().start_stage(item.id, "parse", max_deliveries=2)
        items.current().fail_stage(item.id, "parse", "boom", final=False, attempt=decision.attempt)
    decision = items.current().start_stage(item.id, "parse", max_deliveries=2)
    assert not decision.run
    assert "gave up after 2 deliveries" in decision.reason


def test_a_final_failure_fails_the_item_once_and_the_task_reports_it(service: TaskService) -> None:
    task = _task(service, count=2)
    failing, passing = _items(task)
    decision = items.current().start_stage(failing.id, "parse")
    for _ in range(2):
        items.current().fail_stage(
            failing.id, "parse", "HTTP 500", final=True, attempt=decision.attempt
        )
    _run_all_stages(passing, task.stages)
    task = Task.get_by_id(task.id)
    assert (task.status, task.completed_items, task.failed_items) == ("failed", 1, 1)
    assert TaskItem.get_by_id(failing.id).error == "parse: HTTP 500"


def test_cancel_stops_waiting_items_now_and_running_ones_after_their_step(
    service: TaskService,
) -> None:
    task = _task(service, count=3)
    running, waiting, _ = _items(task)
    assert items.current().start_stage(running.id, "parse").run
    assert items.current().cancel_task(task.id) == 2
    assert TaskItem.get_by_id(waiting.id).status == "cancelled"
    assert TaskItem.get_by_id(running.id).status == "running"
    items.current().finish_stage(running.id, "parse")
    task = Task.get_by_id(task.id)
    assert (task.status, task.cancelled_items, task.completed_items) == ("cancelled", 3, 0)
    assert task.finished_at is not None
    assert not items.current().start_stage(running.id, "enrich").run


def test_reopening_failed_items_resumes_each_from_the_stage_it_failed_in(
    service: TaskService,
) -> None:
    task = _task(service, count=2)
    first, second = _items(task)
    decision = items.current().start_stage(first.id, "parse")
    items.current().fail_stage(first.id, "parse", "x", final=True, attempt=decision.attempt)
    items.current().start_stage(second.id, "parse")
    items.current().finish_stage(second.id, "parse")
    decision = items.current().start_stage(second.id, "enrich")
    items.current().fail_stage(second.id, "enrich", "y", final=True, attempt=decision.attempt)
    assert Task.get_by_id(task.id).status == "failed"

    chains = items.current().reopen_failed_items(task.id)

    assert chains == [
        (first.id, ["parse", "enrich", "publish"]),
        (second.id, ["enrich", "publish"]),
    ]
    task = Task.get_by_id(task.id)
    assert (task.status, task.failed_items, task.finished_at) == ("queued", 0, None)
    assert items.current().reopen_failed_items(task.id) == []


def test_a_second_delivery_is_skipped_while_the_stage_runs_elsewhere_within_its_lease(
    service: TaskService,
) -> None:
    task = _task(service, count=1)
    (item,) = _items(task)
    assert items.current().start_stage(item.id, "parse", lease_seconds=60).run
    decision = items.current().start_stage(item.id, "parse", lease_seconds=60)
    assert (decision.run, "running elsewhere" in decision.reason) == (False, True)


def test_a_delivery_after_the_lease_expired_takes_over_an_abandoned_stage(
    service: TaskService,
) -> None:
    task = _task(service, count=1)
    (item,) = _items(task)
    assert items.current().start_stage(item.id, "parse", lease_seconds=60).run
    started = StageRun.get(StageRun.item == item.id).started_at
    assert started is not None
    StageRun.update(started_at=started - timedelta(minutes=5)).execute()
    decision = items.current().start_stage(item.id, "parse", lease_seconds=60)
    assert (decision.run, decision.attempt) == (True, 2)


def test_the_poison_guard_fails_an_item_whose_stage_keeps_being_delivered(
    service: TaskService,
) -> None:
    task = _task(service, count=1)
    (item,) = _items(task)
    for _ in range(3):
        assert items.current().start_stage(item.id, "parse", max_deliveries=3).run
    decision = items.current().start_stage(item.id, "parse", max_deliveries=3)
    assert not decision.run
    item = TaskItem.get_by_id(item.id)
    assert item.status == "failed"
    assert item.error == "parse: gave up after 3 deliveries (the stage never finished)"
    task = Task.get_by_id(task.id)
    assert (task.status, task.failed_items) == ("failed", 1)


def test_a_stage_whose_worker_died_is_taken_over_at_once_and_a_live_ones_is_not(
    service: TaskService,
) -> None:
    task = _task(service, count=1)
    (item,) = _items(task)
    assert items.current().start_stage(item.id, "parse", worker="w1", lease_seconds=60).run
    alive = items.current().start_stage(
        item.id, "parse", worker="w2", lease_seconds=60, worker_alive=lambda w: True
    )
    assert not alive.run
    dead = items.current().start_stage(
        item.id, "parse", worker="w2", lease_seconds=60, worker_alive=lambda w: False
    )
    assert dead.run
    assert StageRun.get(item=item.id, stage="parse").worker == "w2"


def test_a_retried_task_keeps_when_it_first_started(service: TaskService) -> None:
    task = _task(service, count=1, stages=["parse"])
    (item,) = _items(task)
    decision = items.current().start_stage(item.id, "parse")
    items.current().fail_stage(item.id, "parse", "HTTP 500", final=True, attempt=decision.attempt)
    first_start = Task.get_by_id(task.id).started_at
    assert first_start is not None

    items.current().reopen_failed_items(task.id)
    assert items.current().start_stage(item.id, "parse").run
    items.current().finish_stage(item.id, "parse")

    task = Task.get_by_id(task.id)
    assert (task.status, task.started_at) == ("completed", first_start)


def _at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run ``calls`` in threads released together; return their results in order."""
    barrier, results, errors = threading.Barrier(len(calls)), [None] * len(calls), []

    def run(position: int) -> None:
        try:
            with database.connection_context():
                barrier.wait()
                results[position] = calls[position]()
        except BaseException as ex:
            errors.append(ex)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_deliveries_of_one_message_at_once_start_its_stage_once(service: TaskService) -> None:
    # Given 6 items, each of whose parse message is delivered to 4 workers at the same moment
    task = _task(service, count=6)
    alive = {f"w{n}" for n in range(4)}
    for item in _items(task):
        decisions = _at_once(
            [
                partial(
                    items.current().start_stage,
                    item.id,
                    "parse",
                    worker=worker,
                    worker_alive=alive.__contains__,
                )
                for worker in sorted(alive)
            ]
        )
        # Then exactly one runs it, as attempt 1; the others are told it runs elsewhere
        assert [d.attempt for d in decisions if d.run] == [1]  # type: ignore[attr-defined]
        skipped = [d.reason for d in decisions if not d.run]  # type: ignore[attr-defined]
        assert all("running elsewhere" in reason for reason in skipped), skipped
        run = StageRun.get((StageRun.item == item.id) & (StageRun.stage == "parse"))
        assert (run.status, run.attempts) == ("running", 1)


def test_finishes_of_every_item_at_once_count_each_once_and_end_the_task(
    service: TaskService,
) -> None:
    # Given 8 items running their only stage
    task = _task(service, count=8, stages=["parse"])
    machine = items.current()
    for item in _items(task):
        assert machine.start_stage(item.id, "parse").run
    # When all finish at the same moment, and every finish is delivered twice
    finishes = [partial(machine.finish_stage, item.id, "parse") for item in _items(task)]
    _at_once(finishes + finishes)
    # Then each item is counted once and the task ends completed, its counters its items'
    task = Task.get_by_id(task.id)
    assert (task.status, task.completed_items, task.failed_items) == ("completed", 8, 0)
    assert task.finished_at is not None
    assert {item.status for item in _items(task)} == {"completed"}
