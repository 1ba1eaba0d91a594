"""Admission control: items are fed by priority, round-robin, within the caps."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from dramatiq.brokers.stub import StubBroker

from shared import items
from shared.broker import build_broker
from shared.db import bind_database, database
from shared.errors import ConfigurationError, InvalidRequest
from shared.feed_limits import FeedLimits, low_water, stocked
from shared.feeding import Candidate, allocate, feed, hand_off, in_flight
from shared.items.rules import HandOff, Stock
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


def _at_once(calls: list[Callable[[], None]]) -> None:
    """Run ``calls`` on threads of their own, all at once; return when all are done."""
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


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

    _at_once([finish_and_feed] * 8)
    sent += _sent(broker)

    # Then no item was sent twice, the caps held, and every task got its turn
    assert not errors, errors
    assert len(sent) == len(set(sent))
    assert max(peaks) <= LIMITS.queue
    assert max(in_flight("parse").values()) <= LIMITS.task
    assert set(_task_of(sent)) == set(tasks)


def test_racing_feeders_lose_no_request_the_queue_ends_as_full_as_the_caps_allow(
    service: TaskService, broker: StubBroker
) -> None:
    # Given two tasks, and eight threads that finish items and feed at once (most of
    # their feeds find the lock taken and leave it to its holder)
    tasks = [_create(service, 60, name=f"r{n}") for n in range(2)]
    sent = _sent(broker)
    errors: list[BaseException] = []

    def finish_and_feed(share: list[int]) -> None:
        try:
            with database.connection_context():
                for item_id in share:
                    _complete([item_id])
                    feed(broker, "parse", LIMITS)
        except BaseException as ex:
            errors.append(ex)

    for _ in range(4):
        shares = [sent[n::8] for n in range(8)]
        _at_once([lambda share=share: finish_and_feed(share) for share in shares])
        sent = _sent(broker)

    # Then, the racing over, the queue holds as many items as the caps allow: no
    # finished item's feed was lost
    assert not errors, errors
    assert len(sent) == LIMITS.queue
    assert sum(in_flight("parse").values()) == LIMITS.queue
    assert set(_task_of(sent)) == set(tasks)


def test_a_feeder_never_waits_for_the_lock_the_holder_feeds_for_it(
    service: TaskService, broker: StubBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.feeding as feeding
    from shared.pipeline import PARSE

    # Given a task whose queue has room again
    _create(service, 30)
    _complete(_sent(broker)[:4])
    # When a feeder is asked again while it feeds (as by a feeder that found the lock
    # taken and left)
    rounds: list[datetime] = []
    claim = feeding._claim_locked

    def claim_while_another_asks(stage, limits, now):  # type: ignore[no-untyped-def]
        rounds.append(now)
        if len(rounds) == 1:
            feeding._ask(stage)
        return claim(stage, limits, now)

    monkeypatch.setattr(feeding, "_claim_locked", claim_while_another_asks)
    feed(broker, "parse", LIMITS)
    # Then it fed once more for that request
    assert len(rounds) == 2
    assert len(_sent(broker)) == 4

    # And a feeder that finds the lock held by another transaction leaves at once
    holder = database.obj.__class__(database.obj.database, **database.obj.connect_params)
    with holder.atomic():
        holder.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", feeding._feed_lock(PARSE))
        done = threading.Event()

        def feed_in_thread() -> None:
            with database.connection_context():
                feed(broker, "parse", LIMITS)
            done.set()

        threading.Thread(target=feed_in_thread).start()
        assert done.wait(10), "the feeder waited for the lock"
    holder.close()


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


def _finish(item_id: int) -> HandOff:
    start = items.current().start_stage(item_id, "parse")
    assert start.run
    return items.current().finish_stage(item_id, "parse", seen=start.state)


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
    ids = [
        json.loads(client.hget("dramatiq:parsing.msgs", key))["args"][0]
        for key in client.lrange("dramatiq:parsing", 0, -1)
    ]
    # And a high-priority link waiting to be fed (the queue is at its cap)
    urgent = service.create_task(urls=["https://example.com/urgent"], priority="high")
    (item,) = TaskItem.select().where(TaskItem.task == urgent["task_id"])
    assert item.status == Status.PENDING

    # When a worker finishes an item, its finish counts what waits at both stages
    handoff = _finish(ids[0])
    assert handoff.following == "enrich"
    assert handoff.stock["parse"] == Stock(queued=7, urgent=True)
    # Then it feeds, whatever the queue holds: the link goes first, the item to enrich
    assert not stocked(handoff.stock["parse"], limits)
    assert hand_off(broker, handoff, limits) == 2
    head = json.loads(client.hget("dramatiq:parsing.msgs", client.lindex("dramatiq:parsing", 0)))
    assert head["args"] == [item.id]
    # Marked urgent, so that bulk work of the worker running it pauses (shared.urgency)
    assert head["options"][URGENT_OPTION] is True
    second = json.loads(client.hget("dramatiq:parsing.msgs", client.lindex("dramatiq:parsing", 1)))
    assert URGENT_OPTION not in second["options"]

    # When the next item finishes with 7 queued and nothing urgent waiting
    handoff = _finish(ids[1])
    assert handoff.stock["parse"] == Stock(queued=7, urgent=False)
    # Then the parse queue is left as it is; only the enrich queue, below its mark, is fed
    assert stocked(handoff.stock["parse"], limits)
    assert not stocked(handoff.stock["enrich"], limits)
    before = client.llen("dramatiq:parsing")
    assert hand_off(broker, handoff, limits) == 1
    assert client.llen("dramatiq:parsing") == before
    assert client.llen("dramatiq:ai") == 2

    # When workers took every queued item: below the low-water mark, it feeds again
    queued = TaskItem.select().where(
        (TaskItem.stage == "parse") & (TaskItem.status == Status.QUEUED) & (TaskItem.id != ids[7])
    )
    for taken in queued:
        assert items.current().start_stage(taken.id, "parse").run
    handoff = _finish(ids[7])
    assert handoff.stock["parse"].queued < low_water(limits)
    assert not stocked(handoff.stock["parse"], limits)
    # And a stage whose stock is unknown (local mode counts none) is always fed
    assert not stocked(None, limits)
    broker.close()


def test_an_item_waiting_for_its_retry_is_not_counted_in_its_stages_stock(
    settings: Settings,
) -> None:
    # Given three queued items, one of which failed and waits for its delayed retry
    limits = FeedLimits(queue=8, task=8, promote_up_to=0)
    broker = build_broker(settings)
    service = TaskService(broker, max_urls=5000, limits=limits)
    service.create_task(urls=[f"https://example.com/retry/{n}" for n in range(3)])
    retrying, finishing, waiting = (item.id for item in TaskItem.select().order_by(TaskItem.id))
    assert items.current().start_stage(retrying, "parse").run
    items.current().fail_stage(retrying, "parse", "TimeoutError: slow", final=False, attempt=1)
    assert TaskItem.get_by_id(retrying).status == Status.QUEUED
    # When another one finishes
    handoff = _finish(finishing)
    # Then only the item whose message waits in the queue is stock
    assert handoff.stock["parse"] == Stock(queued=1, urgent=False)
    assert TaskItem.get_by_id(waiting).status == Status.QUEUED
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
