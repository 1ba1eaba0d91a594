"""Bulk work pauses at its checkpoints while an urgent item runs, here or in another process."""

from __future__ import annotations

import threading

import redis

from shared.settings import Settings
from shared.urgency import UrgentGate


def _checkpoint_in_a_thread(
    gate: UrgentGate, timeout: float = 30
) -> tuple[threading.Thread, threading.Event]:
    """Start a bulk thread that passes one checkpoint; return it and its 'passed' event."""
    passed = threading.Event()

    def bulk() -> None:
        gate.yield_to_urgent(timeout=timeout)
        passed.set()

    thread = threading.Thread(target=bulk)
    thread.start()
    return thread, passed


def test_bulk_work_waits_while_urgent_work_runs_in_its_process() -> None:
    gate = UrgentGate()
    urgent_started, urgent_may_end = threading.Event(), threading.Event()
    urgent_checkpoints: list[str] = []

    def urgent() -> None:
        gate.enter()
        urgent_started.set()
        gate.yield_to_urgent(timeout=30)  # the urgent item's own checkpoints never wait
        urgent_checkpoints.append("passed")
        urgent_may_end.wait(30)
        gate.leave()

    runner = threading.Thread(target=urgent)
    runner.start()
    assert urgent_started.wait(10)
    bulk, passed = _checkpoint_in_a_thread(gate)
    # While the urgent item runs, the bulk thread is held at its checkpoint
    assert not passed.wait(0.3)
    assert urgent_checkpoints == ["passed"]
    # Once it ends, the bulk thread goes on
    urgent_may_end.set()
    runner.join(10)
    assert passed.wait(10)
    bulk.join(10)
    assert gate.running == 0


def test_no_checkpoint_waits_longer_than_its_bound() -> None:
    gate = UrgentGate()
    gate.enter()  # an urgent item that never ends (its thread is stuck)
    thread, passed = _checkpoint_in_a_thread(gate, timeout=0.2)
    assert passed.wait(10)
    thread.join(10)


def test_urgent_work_of_another_process_holds_bulk_work_through_redis(settings: Settings) -> None:
    # Given two processes' gates sharing one Redis set
    client = redis.Redis.from_url(settings.redis_url)
    key = "kbm:test-urgent-running"
    client.delete(key)
    here, elsewhere = UrgentGate(), UrgentGate()
    here.share(client, key)
    elsewhere.share(client, key)
    # When the other process runs an urgent message
    elsewhere.enter("message-1")
    bulk, passed = _checkpoint_in_a_thread(here)
    # Then bulk work here waits for it, and goes on once it ended
    assert not passed.wait(0.3)
    elsewhere.leave("message-1")
    assert passed.wait(10)
    bulk.join(10)
    assert client.zcard(key) == 0


def test_the_middleware_counts_an_urgent_message_once_whatever_ends_it() -> None:
    import dramatiq
    from dramatiq.broker import MessageProxy
    from dramatiq.brokers.stub import StubBroker

    from shared.middleware.urgency import UrgentFirst
    from shared.urgency import URGENT_OPTION

    gate = UrgentGate()
    middleware, broker = UrgentFirst(gate), StubBroker()

    def proxy(options: dict[str, object]) -> MessageProxy:
        message = dramatiq.Message(
            queue_name="parsing", actor_name="parse_item", args=(1,), kwargs={}, options=options
        )
        return MessageProxy(message)

    urgent, bulk = proxy({URGENT_OPTION: True}), proxy({})
    middleware.before_process_message(broker, bulk)
    assert gate.running == 0
    middleware.before_process_message(broker, urgent)
    assert gate.running == 1
    # A skipped urgent message ends as surely as one that ran, and only once
    middleware.after_skip_message(broker, urgent)
    middleware.after_process_message(broker, urgent)
    assert gate.running == 0
    middleware.before_process_message(broker, urgent)
    middleware.after_process_message(broker, urgent, exception=RuntimeError("failed"))
    assert gate.running == 0
