"""The worker middleware on an in-memory broker: tracking, retries, pipelines in order.

The actors here stand in for the services' (same names, same options) so that the
middleware's ordering is tested against real Dramatiq workers without the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from shared.broker import build_broker
from shared.errors import FetchError, FetchRejected, RateLimited
from shared.models import StageRun, Task, TaskItem
from shared.pipeline import QUEUES, STAGES, actor_options
from shared.settings import Settings
from shared.tasks import TaskService


class Stages:
    """A stub broker with one actor per stage whose behaviour a test chooses."""

    def __init__(self, settings: Settings) -> None:
        self.broker = build_broker(settings, stub=True)
        assert isinstance(self.broker, StubBroker)
        self.behaviour: dict[str, Callable[[int], None]] = {}
        self.calls: list[tuple[str, int]] = []
        for stage in STAGES:
            dramatiq.actor(
                self._runner(stage.name), broker=self.broker, **actor_options(stage, settings)
            )
        self.worker = dramatiq.Worker(self.broker, worker_timeout=20, worker_threads=2)
        self.worker.start()

    def _runner(self, name: str) -> Callable[[int], None]:
        def run(item_id: int) -> None:
            self.calls.append((name, item_id))
            self.behaviour.get(name, lambda _: None)(item_id)

        run.__name__ = f"run_{name}"
        return run

    def drain(self) -> None:
        assert isinstance(self.broker, StubBroker)
        for _ in range(3):
            for queue in QUEUES:
                self.broker.join(queue, fail_fast=False, timeout=10_000)
        self.worker.join()


@pytest.fixture()
def stages(settings: Settings) -> Iterator[Stages]:
    harness = Stages(settings)
    yield harness
    harness.worker.stop()
    harness.broker.close()


def _create(stages: Stages, count: int) -> int:
    service = TaskService(stages.broker)
    urls = [f"http://127.0.0.1/page/{n}" for n in range(count)]
    result: dict[str, Any] = service.create_task(urls=urls)
    return int(result["task_id"])


def test_items_run_every_stage_in_order_and_the_task_completes(stages: Stages) -> None:
    task_id = _create(stages, 3)
    stages.drain()
    task = Task.get_by_id(task_id)
    assert (task.status, task.completed_items, task.failed_items) == ("completed", 3, 0)
    for item in TaskItem.select().where(TaskItem.task == task_id):
        assert [name for name, item_id in stages.calls if item_id == item.id] == [
            "parse",
            "enrich",
            "publish",
        ]
        assert {run.status for run in StageRun.select().where(StageRun.item == item.id)} == {
            "completed"
        }


def test_a_retryable_error_is_retried_on_schedule_then_fails_the_item(stages: Stages) -> None:
    def fail(item_id: int) -> None:
        raise FetchError("GET http://x answered HTTP 500")

    stages.behaviour["parse"] = fail
    task_id = _create(stages, 1)
    stages.drain()
    (item,) = TaskItem.select().where(TaskItem.task == task_id)
    run = StageRun.get(item=item.id, stage="parse")
    # One attempt plus three retries (MAX_RETRIES=3), then failed for good.
    assert (item.status, item.attempts, run.attempts) == ("failed", 4, 4)
    assert item.error == "parse: FetchError: GET http://x answered HTTP 500"
    assert [name for name, _ in stages.calls] == ["parse"] * 4
    task = Task.get_by_id(task_id)
    assert (task.status, task.failed_items) == ("failed", 1)


def test_a_permanent_error_fails_at_once_without_retries(stages: Stages) -> None:
    def reject(item_id: int) -> None:
        raise FetchRejected("GET http://x answered HTTP 404 Not Found")

    stages.behaviour["parse"] = reject
    task_id = _create(stages, 1)
    stages.drain()
    (item,) = TaskItem.select().where(TaskItem.task == task_id)
    assert (item.status, item.attempts) == ("failed", 1)
    assert "HTTP 404" in (item.error or "")


def test_an_error_that_passes_on_retry_completes_the_item(stages: Stages) -> None:
    seen: list[int] = []

    def flaky(item_id: int) -> None:
        seen.append(item_id)
        if len(seen) == 1:
            raise FetchError("timeout")

    stages.behaviour["enrich"] = flaky
    task_id = _create(stages, 1)
    stages.drain()
    (item,) = TaskItem.select().where(TaskItem.task == task_id)
    assert (item.status, item.error) == ("completed", None)
    assert StageRun.get(item=item.id, stage="enrich").attempts == 2
    assert Task.get_by_id(task_id).completed_items == 1


def test_waiting_for_a_rate_limit_does_not_use_up_the_items_retries(stages: Stages) -> None:
    seen: list[int] = []

    def limited(item_id: int) -> None:
        seen.append(item_id)
        if len(seen) <= 5:
            raise RateLimited("429 from the API", retry_after=0.01)

    stages.behaviour["publish"] = limited
    task_id = _create(stages, 1)
    stages.drain()
    (item,) = TaskItem.select().where(TaskItem.task == task_id)
    # Five rate-limited deliveries, more than MAX_RETRIES=3, and still completed.
    assert (item.status, len(seen)) == ("completed", 6)
