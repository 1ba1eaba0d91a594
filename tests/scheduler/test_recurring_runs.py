"""Recurring jobs on real PostgreSQL: tracked, run once per time, caught up once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from dramatiq.brokers.stub import StubBroker

from services.scheduler.recurring import run_due_jobs
from shared import items, recurring
from shared.broker import build_broker
from shared.models import RecurringRun, Task, TaskItem
from shared.schedule import RecurringJob, Schedule
from shared.settings import Settings
from shared.tasks import TaskService

HOURLY = Schedule(jobs=(RecurringJob("republish_failed", "0 * * * *"),))
START = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


@pytest.fixture()
def broker(settings: Settings) -> StubBroker:
    stub = build_broker(settings, stub=True)
    assert isinstance(stub, StubBroker)
    return stub


@pytest.fixture()
def tasks(broker: StubBroker) -> TaskService:
    return TaskService(broker)


def _fail_publish(tasks: TaskService, url: str) -> int:
    """Create a task for ``url`` whose item failed for good at the publish stage."""
    task_id = int(tasks.create_task(urls=[url])["task_id"])
    (item,) = TaskItem.select().where(TaskItem.task == task_id)
    for stage in ("parse", "enrich"):
        items.current().start_stage(item.id, stage)
        items.current().finish_stage(item.id, stage)
    decision = items.current().start_stage(item.id, "publish")
    items.current().fail_stage(
        item.id, "publish", "Notion: object_not_found", final=True, attempt=decision.attempt
    )
    return int(item.link_id)


def test_a_new_job_is_tracked_and_first_runs_at_its_next_time(
    broker: StubBroker, tasks: TaskService
) -> None:
    assert run_due_jobs(HOURLY, START, broker, tasks) == []
    assert RecurringRun.get().last_run_at == datetime(2026, 12, 1, 8, 0)

    ran = run_due_jobs(HOURLY, START + timedelta(minutes=30), broker, tasks)

    assert [(job.kind, due) for job, due, _ in ran] == [
        ("republish_failed", datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    ]


def test_failed_publishes_are_published_again_once_after_the_scheduler_was_down(
    broker: StubBroker, tasks: TaskService
) -> None:
    # Given a tracked hourly job and two links whose publishing failed
    run_due_jobs(HOURLY, START, broker, tasks)
    failed = sorted(_fail_publish(tasks, f"https://example.com/{n}") for n in range(2))
    tasks.create_task(urls=["https://example.com/fine"])

    # When the scheduler comes back after five missed hours, and ticks again
    back = START + timedelta(hours=5)
    ran = run_due_jobs(HOURLY, back, broker, tasks)
    again = run_due_jobs(HOURLY, back + timedelta(minutes=1), broker, tasks)

    # Then the job ran once, for the latest hour, with one publish-only task of those links
    assert [due for _, due, _ in ran] == [datetime(2026, 12, 1, 13, 0, tzinfo=UTC)]
    assert again == []
    (republish,) = Task.select().where(Task.type == "notion")
    assert (republish.stages, republish.source) == (["publish"], "recurring")
    assert sorted(item.link_id for item in republish.items) == failed
    assert RecurringRun.get().outcome == "1 publish tasks created"


def test_two_schedulers_at_once_run_each_scheduled_time_once(
    broker: StubBroker, tasks: TaskService
) -> None:
    run_due_jobs(HOURLY, START, broker, tasks)
    _fail_publish(tasks, "https://example.com/a")
    barrier = threading.Barrier(3)
    results: list[int] = []

    def scheduler() -> None:
        barrier.wait()
        results.append(len(run_due_jobs(HOURLY, START + timedelta(hours=1), broker, tasks)))

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [0, 0, 1]
    assert Task.select().where(Task.type == "notion").count() == 1


def test_the_export_job_asks_the_notion_service_for_an_export(
    broker: StubBroker, tasks: TaskService
) -> None:
    nightly = Schedule(jobs=(RecurringJob("export", "30 3 * * *"),))
    run_due_jobs(nightly, START, broker, tasks)

    ran = run_due_jobs(nightly, START + timedelta(days=1), broker, tasks)

    assert [outcome for _, _, outcome in ran] == ["export 20261202T0330Z requested"]
    (message,) = [broker.queues["notion"].get_nowait()]
    assert recurring.EXPORT_ACTOR in message.decode()
    assert "20261202T0330Z" in message.decode()
