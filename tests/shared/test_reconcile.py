"""The reconciler repairs what Redis lost, from what PostgreSQL knows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dramatiq.brokers.stub import StubBroker

from shared import items
from shared.broker import build_broker
from shared.models import StageRun, Task, TaskItem, utcnow
from shared.reconcile import Reconciler
from shared.settings import Settings
from shared.tasks import TaskService


@pytest.fixture()
def broker(settings: Settings) -> StubBroker:
    stub = build_broker(settings, stub=True)
    assert isinstance(stub, StubBroker)
    return stub


def _task(broker: StubBroker, count: int = 2) -> int:
    created = TaskService(broker).create_task(urls=[f"http://127.0.0.1/{n}" for n in range(count)])
    for queue in ("parsing", "ai", "notion"):
        broker.flush(queue)  # as if Redis lost every message
    return int(created["task_id"])


def _reconciler(
    broker: StubBroker, settings: Settings, *, later: float, empty: bool = True
) -> Reconciler:
    return Reconciler(
        broker,
        settings,
        queue_is_empty=lambda queue: empty,
        clock=lambda: utcnow() + timedelta(seconds=later),
    )


def _waiting(broker: StubBroker, queue: str) -> int:
    return broker.queues[queue].qsize()


def test_queued_items_whose_messages_were_lost_are_sent_again_after_the_grace(
    broker: StubBroker, settings: Settings
) -> None:
    task_id = _task(broker)
    assert _reconciler(broker, settings, later=5).run().repaired == 0
    report = _reconciler(broker, settings, later=settings.reconcile_grace + 5).run()
    assert report.queued_resent == 2
    assert _waiting(broker, "parsing") == 2
    # The clock restarted: the next tick does not send them once more.
    assert _reconciler(broker, settings, later=settings.reconcile_grace + 5).run().repaired == 0
    assert Task.get_by_id(task_id).status == "queued"


def test_queued_items_wait_longer_while_their_queue_still_holds_messages(
    broker: StubBroker, settings: Settings
) -> None:
    _task(broker)
    busy = _reconciler(broker, settings, later=settings.reconcile_grace + 5, empty=False)
    assert busy.run().repaired == 0
    late = _reconciler(broker, settings, later=settings.reconcile_queued_after + 5, empty=False)
    assert late.run().queued_resent == 2


def test_items_left_pending_by_a_crash_before_sending_are_sent_and_queued(
    broker: StubBroker, settings: Settings
) -> None:
    task_id = _task(broker)
    TaskItem.update(status="pending").execute()
    Task.update(status="pending").execute()
    report = _reconciler(broker, settings, later=settings.reconcile_grace + 5).run()
    assert report.pending_sent == 2
    assert {item.status for item in TaskItem.select()} == {"queued"}
    assert Task.get_by_id(task_id).status == "queued"


def test_a_stage_abandoned_by_a_dead_worker_is_sent_again_after_its_time_limit(
    broker: StubBroker, settings: Settings
) -> None:
    _task(broker, count=1)
    (item,) = TaskItem.select()
    assert items.current().start_stage(item.id, "parse").run
    within = settings.parsing_timeout + settings.reconcile_grace - 5
    assert _reconciler(broker, settings, later=within).run().running_resent == 0
    beyond = settings.parsing_timeout + settings.reconcile_grace + 5
    assert _reconciler(broker, settings, later=beyond).run().running_resent == 1
    assert StageRun.get(item=item.id, stage="parse").status == "queued"
    assert TaskItem.get_by_id(item.id).status == "queued"
    assert _waiting(broker, "parsing") == 1


def test_counters_that_disagree_with_the_items_are_corrected_and_the_task_finished(
    broker: StubBroker, settings: Settings
) -> None:
    task_id = _task(broker)
    TaskItem.update(status="completed", finished_at=utcnow()).execute()
    report = _reconciler(broker, settings, later=0).run()
    assert (report.counters_fixed, report.tasks_finished) == (1, 1)
    task = Task.get_by_id(task_id)
    assert (task.status, task.completed_items, task.finished_at is not None) == (
        "completed",
        2,
        True,
    )


def test_a_stage_whose_worker_stopped_sending_heartbeats_is_sent_again_after_the_grace(
    broker: StubBroker, settings: Settings
) -> None:
    _task(broker, count=2)
    dead, alive = TaskItem.select().order_by(TaskItem.id)
    assert items.current().start_stage(dead.id, "parse", worker="worker-dead").run
    assert items.current().start_stage(alive.id, "parse", worker="worker-alive").run
    reconciler = Reconciler(
        broker,
        settings,
        queue_is_empty=lambda queue: False,
        worker_alive=lambda worker: worker == "worker-alive",
        clock=lambda: utcnow() + timedelta(seconds=settings.reconcile_grace + 5),
    )
    report = reconciler.run()
    assert (report.running_resent, report.resent_items) == (1, [dead.id])
