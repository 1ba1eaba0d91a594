"""Admission control: items are fed by priority, round-robin, within the caps."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from dramatiq.brokers.stub import StubBroker

from shared import items
from shared.broker import build_broker
from shared.db import bind_database, database
from shared.errors import ConfigurationError, InvalidRequest
from shared.feeding import (
    Candidate,
    FeedLimits,
    allocate,
    feed,
    in_flight,
    low_water,
    well_stocked,
)
from shared.migrations import migrate
from shared.models import Status, Task, TaskItem
from shared.settings import Settings
from shared.tasks import TaskService
from shared.urgency import URGENT_OPTION

T0 = datetime(2026, 1, 1)


def _candidate(
    task_id: int,
    rank: int = 1,
    *,
    fed_at: datetime | None = None,
    in_flight: int = 0,
    waiting: int = 1000,
) -> Candidate:
    return Candidate(task_id, rank, fed_at, in_flight, waiting)


# The allocation alone ------------------------------------------------------------------


def test_higher_priorities_take_every_slot_they_can_before_lower_ones() -> None:
    shares = allocate(
        [_candidate(1, rank=2), _candidate(2, rank=1), _candidate(3, rank=0, waiting=3)],
        free=10,
        task_cap=6,
    )
    assert shares == {3: 3, 2: 6, 1: 1}


def test_tasks_of_one_priority_take_turns_the_least_recently_fed_first() -> None:
    recently, long_ago, never = (
        _candidate(1, fed_at=T0 + timedelta(seconds=5)),
        _candidate(2, fed_at=T0),
        _candidate(3),
    )
    assert allocate([recently, long_ago, never], free=1, task_cap=10) == {3: 1}
    assert allocate([recently, long_ago], free=1, task_cap=10) == {2: 1}
    assert allocate([recently, long_ago, never], free=7, task_cap=10) == {3: 3, 2: 2, 1: 2}


def test_no_task_goes_beyond_its_cap_and_no_slot_beyond_the_free_ones() -> None:
    shares = allocate([_candidate(1, in_flight=4), _candidate(2, waiting=2)], 100, task_cap=5)
    assert shares == {1: 1, 2: 2}
    assert allocate([_candidate(1), _candidate(2)], free=0, task_cap=5) == {}


def test_a_small_normal_task_is_fed_as_high_but_never_a_low_one() -> None:
    limits = FeedLimits(promote_up_to=10)
    assert [limits.rank("normal", 10), limits.rank("normal", 11)] == [0, 1]
    assert [limits.rank("high", 10_000), limits.rank("low", 1)] == [0, 2]
    assert FeedLimits(promote_up_to=0).rank("normal", 1) == 1


def test_caps_are_validated_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_MAX_IN_FLIGHT", "20")
    monkeypatch.setenv("TASK_MAX_IN_FLIGHT", "30")
    with pytest.raises(ConfigurationError, match=r"TASK_MAX_IN_FLIGHT: .*QUEUE_MAX_IN_FLIGHT"):
        Settings.from_env(_env_file=None)
    monkeypatch.setenv("QUEUE_MAX_IN_FLIGHT", "0")
    with pytest.raises(ConfigurationError, match="QUEUE_MAX_IN_FLIGHT"):
        Settings.from_env(_env_file=None)
    monkeypatch.setenv("QUEUE_MAX_IN_FLIGHT", "40")
    settings = Settings.from_env(_env_file=None)
    assert FeedLimits.from_settings(settings) == FeedLimits(40, 30, 10)


# Feeding on PostgreSQL -------------------------------------------------------------------

LIMITS = FeedLimits(queue=10, task=6, promote_up_to=0)


@pytest.fixture()
def broker(settings: Settings) -> StubBroker:
    stub = build_broker(settings, stub=True)
    assert isinstance(stub, StubBroker)
    return stub


@pytest.fixture()
def service(broker: StubBroker) -> TaskService:
    return TaskService(broker, max_urls=100_000, limits=LIMITS)


def _create(service: TaskService, count: int, priority: str = "normal", name: str = "") -> int:
    urls = [f"http://127.0.0.1/{name or priority}/{n}" for n in range(count)]
    return int(service.create_task(urls=urls, stages=["parse"], priority=priority)["task_id"])


def _sent(broker: StubBroker, queue: str = "parsing") -> list[int]:
    """Return the item ids of the messages waiting in a stub queue, taking them out."""
    ids = []
    while broker.queues[queue].qsize():
        message = json.loads(broker.queues[queue].get_nowait())
        ids.append(int(message["args"][0]))
    return ids


def _task_of(item_ids: list[int]) -> Counter[int]:
    rows = TaskItem.select(TaskItem.task).where(TaskItem.id.in_(item_ids))
    return Counter(row.task_id for row in rows)


def _complete(item_ids: list[int]) -> None:
    for item_id in item_ids:
        assert items.current().start_stage(item_id, "parse").run
        items.current().finish_stage(item_id, "parse")


def test_a_bulk_task_sends_one_batch_and_the_rest_waits_in_the_database(
    service: TaskService, broker: StubBroker
) -> None:
    task_id = _create(service, 300)
    assert len(_sent(broker)) == LIMITS.task
    statuses = Counter(item.status for item in TaskItem.select())
    assert statuses == {Status.QUEUED: LIMITS.task, Status.PENDING: 300 - LIMITS.task}
    task = service.get_task(task_id)
    assert (task["status"], task["waiting_items"], task["queued_items"]) == ("queued", 294, 6)
    assert task["stage_counts"]["parse"]["pending"] == 294


def test_finishing_items_tops_the_queue_up_and_a_high_priority_task_goes_first(
    service: TaskService, broker: StubBroker
) -> None:
    # Given two bulk tasks filling the queue (6 + 4 of 10 slots)
    first, second = _create(service, 100, name="a"), _create(service, 100, name="b")
    flying = _sent(broker)
    assert _task_of(flying) == {first: 6, second: 4}
    # When an urgent one-link task arrives, it waits: every slot is taken
    urgent = _create(service, 1, "high")
    assert _sent(broker) == []
    # Then the first freed slot goes to it, the next ones round-robin to the bulk tasks
    _complete(flying[:1])
    assert feed(broker, "parse", LIMITS) == 1
    assert _task_of(_sent(broker)) == {urgent: 1}
    _complete(flying[1:5])
    assert feed(broker, "parse", LIMITS) == 4
    assert _task_of(_sent(broker)) == {first: 2, second: 2}


def test_low_priority_waits_while_normal_work_waits(
    service: TaskService, broker: StubBroker
) -> None:
    low = _create(service, 50, "low")
    normal = _create(service, 50, "normal")
    flying = _sent(broker)
    assert _task_of(flying) == {low: 6, normal: 4}
    _complete(flying)
    feed(broker, "parse", LIMITS)
    assert _task_of(_sent(broker)) == {normal: 6, low: 4}


def test_concurrent_feeders_never_exceed_the_caps_nor_send_an_item_twice(
    service: TaskService, broker: StubBroker
) -> None:
    # Given three tasks waiting and many feeders racing (as many worker threads would)
    tasks = [_create(service, 200, name=f"t{n}") for n in range(3)]
    sent = _sent(broker)
    peaks: list[int] = []
    errors: list[BaseException] = []

    def finish_and_feed() -> None:
        try:
            with database.connection_context():
                for _ in range(5):
                    flying = TaskItem.select(TaskItem.id).where(TaskItem.status == "queued")
                    for item in flying.limit(2):
                        if items.current().start_stage(item.id, "parse", lease_seconds=60).run:
                            items.current().finish_stage(item.id, "parse")
                    feed(broker, "parse", LIMITS)
                    peaks.append(sum(in_flight("parse").values()))
        except BaseException as ex:
            errors.append(ex)

    threads = [threading.Thread(target=finish_and_feed) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent += _sent(broker)

    # Then no item was sent twice, the caps held, and every task got its turn
    assert not errors, errors
    assert len(sent) == len(set(sent))
    assert max(peaks) <= LIMITS.queue
    assert max(in_flight("parse").values()) <= LIMITS.task
    assert set(_task_of(sent)) == set(tasks)


def test_the_reconciler_feeds_what_nobody_fed(service: TaskService, broker: StubBroker) -> None:
    from shared.reconcile import Reconciler

    task_id = _create(service, 20)
    flying = _sent(broker)
    _complete(flying)  # finished without the workers' top-up (as if their feed failed)
    settings = Settings.from_env(
        _env_file=None, queue_max_in_flight=LIMITS.queue, task_max_in_flight=LIMITS.task
    )
    report = Reconciler(broker, settings, queue_is_empty=lambda queue: True).run()
    assert report.pending_sent == LIMITS.task == len(_sent(broker))
    assert service.get_task(task_id)["waiting_items"] == 20 - 2 * LIMITS.task


def test_an_unknown_priority_is_refused_naming_the_field(service: TaskService) -> None:
    with pytest.raises(InvalidRequest) as caught:
        service.create_task(urls=["http://127.0.0.1/x"], priority="urgent")
    assert caught.value.field == "priority"


def test_feeding_works_on_sqlite_for_local_mode(tmp_path: Path, db: str) -> None:
    try:
        bind_database(f"sqlite:///{tmp_path}/local.sqlite3")
        migrate()
        stub = build_broker(Settings.from_env(_env_file=None), stub=True)
        assert isinstance(stub, StubBroker)
        with database.connection_context():
            service = TaskService(stub, max_urls=10_000, limits=LIMITS)
            task_id = _create(service, 2000)
            assert len(_sent(stub)) == LIMITS.task
            assert Task.get_by_id(task_id).status == "queued"
            _complete([item.id for item in TaskItem.select().where(TaskItem.status == "queued")])
            assert feed(stub, "parse", LIMITS) == LIMITS.task
    finally:
        database.close()
        bind_database(db)


def test_a_high_priority_item_goes_to_the_head_of_the_redis_queue(settings: Settings) -> None:
    # Given a Redis queue already holding a bulk task's messages
    broker = build_broker(settings)
    service = TaskService(broker, max_urls=5000, limits=FeedLimits(queue=100, task=50))
    service.create_task(urls=[f"https://example.com/bulk/{n}" for n in range(40)])
    client = redis.Redis.from_url(settings.redis_url)
    assert client.llen("dramatiq:parsing") == 40

    # When an urgent link is submitted
    urgent = service.create_task(urls=["https://example.com/urgent"], priority="high")

    # Then its message is the next one a worker takes, and none is there twice
    (item,) = TaskItem.select().where(TaskItem.task == urgent["task_id"])
    head = client.lindex("dramatiq:parsing", 0)
    message = json.loads(client.hget("dramatiq:parsing.msgs", head))
    assert message["args"] == [item.id]
    ids = client.lrange("dramatiq:parsing", 0, -1)
    assert len(ids) == len(set(ids)) == 41
    broker.close()


def test_a_worker_skips_its_top_up_only_while_the_queue_is_stocked_and_nothing_urgent_waits(
    settings: Settings,
) -> None:
    # Given a Redis queue full of a bulk task's first batch, the rest waiting
    limits = FeedLimits(queue=8, task=8, promote_up_to=0)
    broker = build_broker(settings)
    service = TaskService(broker, max_urls=5000, limits=limits)
    service.create_task(urls=[f"https://example.com/bulk/{n}" for n in range(30)])
    client = redis.Redis.from_url(settings.redis_url)
    assert (client.llen("dramatiq:parsing"), low_water(limits)) == (8, 2)
    # Then a worker that finishes an item need not feed: 8 messages are ready
    assert well_stocked(broker, "parse", limits)

    # When a high-priority link waits to be fed (the queue is at its cap)
    urgent = service.create_task(urls=["https://example.com/urgent"], priority="high")
    (item,) = TaskItem.select().where(TaskItem.task == urgent["task_id"])
    assert item.status == Status.PENDING
    # Then the next finished item feeds, whatever the queue holds, and the link goes first
    assert not well_stocked(broker, "parse", limits)
    first = json.loads(client.hget("dramatiq:parsing.msgs", client.lindex("dramatiq:parsing", 0)))
    _complete([first["args"][0]])
    assert feed(broker, "parse", limits) == 1
    head = json.loads(client.hget("dramatiq:parsing.msgs", client.lindex("dramatiq:parsing", 0)))
    assert head["args"] == [item.id]
    # Marked urgent, so that bulk work of the worker running it pauses (shared.urgency)
    assert head["options"][URGENT_OPTION] is True
    assert URGENT_OPTION not in first["options"]
    assert well_stocked(broker, "parse", limits)

    # When workers took all but one message: below the low-water mark, it feeds again
    client.ltrim("dramatiq:parsing", 0, 0)
    assert not well_stocked(broker, "parse", limits)
    # And without Redis (local mode) every finished item feeds
    assert not well_stocked(StubBroker(), "parse", limits)
    broker.close()


def test_only_high_priority_items_pause_bulk_work_not_small_promoted_ones(
    broker: StubBroker,
) -> None:
    service = TaskService(
        broker, max_urls=100, limits=FeedLimits(queue=10, task=6, promote_up_to=5)
    )
    small = _create(service, 1, "normal", name="small")
    high = _create(service, 1, "high")
    options = {}
    while broker.queues["parsing"].qsize():
        message = json.loads(broker.queues["parsing"].get_nowait())
        (task_id,) = _task_of(message["args"])
        options[task_id] = message["options"]
    # Both were fed at once (rank 0); only the high one is marked urgent
    assert options[high].get(URGENT_OPTION) is True
    assert URGENT_OPTION not in options[small]
