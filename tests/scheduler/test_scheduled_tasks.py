"""Tasks scheduled for later (``run_at``): pending and visible until their time, then fed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from shared.broker import build_broker
from shared.errors import InvalidRequest
from shared.feeding import feed_all
from shared.models import Task, TaskItem, utcnow
from shared.settings import Settings
from shared.tasks import WAKE_ACTOR, WAKE_QUEUE, TaskService


class Scheduled:
    """A broker whose wake-up actor starts tasks as the housekeeping worker's does."""

    def __init__(self, settings: Settings) -> None:
        broker = build_broker(settings, stub=True)
        assert isinstance(broker, StubBroker)
        self.broker = broker
        self.tasks = TaskService(broker)
        self.parsed: list[tuple[int, float]] = []
        dramatiq.actor(
            self.tasks.start_task, broker=broker, actor_name=WAKE_ACTOR, queue_name=WAKE_QUEUE
        )
        dramatiq.actor(self._parse, broker=broker, actor_name="parse_item", queue_name="parsing")
        self.worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=2)

    def _parse(self, item_id: int) -> None:
        self.parsed.append((item_id, time.time()))


@pytest.fixture()
def scheduled(settings: Settings) -> Iterator[Scheduled]:
    harness = Scheduled(settings)
    harness.worker.start()
    yield harness
    harness.worker.stop()
    harness.broker.close()


def _at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def _statuses(task_id: int) -> set[str]:
    return {item.status for item in TaskItem.select().where(TaskItem.task == task_id)}


def test_a_task_scheduled_for_later_waits_pending_then_starts_on_time(
    scheduled: Scheduled,
) -> None:
    # Given a task created to start in two seconds
    wanted = time.time() + 2.0
    created = scheduled.tasks.create_task(
        urls=["https://example.com/a", "https://example.com/b"], stages=["parse"], run_at=_at(2.0)
    )

    # Then until then it is pending and visible, with its time, and nothing was fed
    assert created["status"] == "pending"
    assert created["run_at"] is not None
    task_id = created["task_id"]
    assert Task.get_by_id(task_id).status == "pending"
    assert _statuses(task_id) == {"pending"}
    assert scheduled.tasks.get_task(task_id)["status"] == "pending"

    # When its time comes, its items run, not before
    deadline = time.time() + 15
    while len(scheduled.parsed) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(scheduled.parsed) == 2
    started = min(at for _, at in scheduled.parsed)
    assert wanted <= started < wanted + 2.0, started - wanted


def test_a_scheduled_task_can_be_cancelled_before_its_time(scheduled: Scheduled) -> None:
    created = scheduled.tasks.create_task(urls=["https://example.com/a"], run_at=_at(1.0))

    scheduled.tasks.cancel(created["task_id"])
    time.sleep(1.6)
    scheduled.broker.join(WAKE_QUEUE, timeout=10_000)
    scheduled.worker.join()

    assert Task.get_by_id(created["task_id"]).status == "cancelled"
    assert scheduled.parsed == []


def test_feeding_leaves_a_scheduled_task_alone_until_its_time(
    scheduled: Scheduled, settings: Settings
) -> None:
    # The wake-up message lost (a Redis flush): the reconciler's feeding starts the task.
    task_id = scheduled.tasks.insert_task(urls=["https://example.com/a"], run_at=_at(3600))
    limits = scheduled.tasks.limits

    assert feed_all(scheduled.broker, limits) == 0
    assert _statuses(task_id) == {"pending"}
    later = utcnow() + timedelta(hours=1, seconds=1)
    assert feed_all(scheduled.broker, limits, clock=lambda: later) == 1
    # Fed: the harness's worker may already run it (queued, then running, then done)
    assert _statuses(task_id) <= {"queued", "running", "completed"}
    (item,) = TaskItem.select().where(TaskItem.task == task_id)
    deadline = time.time() + 10
    while not scheduled.parsed and time.time() < deadline:
        time.sleep(0.02)
    assert [item_id for item_id, _ in scheduled.parsed] == [item.id]


@pytest.mark.parametrize(
    ("run_at", "message"),
    [
        ("tomorrow", "expected an ISO 8601 time"),
        ("2026-12-24T08:00:00", "needs a time zone"),
        ((datetime.now(UTC) + timedelta(days=400)).isoformat(), "more than a year ahead"),
        (12, "expected an ISO 8601 time"),
    ],
)
def test_a_bad_start_time_is_refused_naming_the_field(
    scheduled: Scheduled, run_at: object, message: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        scheduled.tasks.create_task(urls=["https://example.com/a"], run_at=run_at)
    assert raised.value.field == "run_at"
    assert message in str(raised.value)
    assert Task.select().count() == 0


def test_a_start_time_in_the_past_starts_now(scheduled: Scheduled) -> None:
    created = scheduled.tasks.create_task(urls=["https://example.com/a"], run_at=_at(-60))
    assert created["status"] == "queued"
    assert Task.get_by_id(created["task_id"]).run_at is None
