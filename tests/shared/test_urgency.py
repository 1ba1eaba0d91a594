"""Bulk work pauses at its checkpoints while an urgent item runs, here or in another process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis

from shared import urgency
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


def _hold_turn(
    gate: UrgentGate,
    *,
    urgent: bool,
    log: list[str],
    name: str,
    checkpoint: threading.Event | None = None,
) -> threading.Thread:
    """Start a thread that takes a CPU turn, logs it, and (optionally) passes a checkpoint."""

    def run() -> None:
        if urgent:
            gate.enter()
        try:
            with gate.cpu_turn():
                log.append(f"{name} runs")
                if checkpoint is not None:
                    checkpoint.wait(30)
                    gate.yield_to_urgent(timeout=30)
                    log.append(f"{name} passed its checkpoint")
                log.append(f"{name} ends")
        finally:
            if urgent:
                gate.leave()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def test_one_thread_at_a_time_takes_a_cpu_turn_and_an_urgent_one_goes_next() -> None:
    gate = UrgentGate(turns=1)
    log: list[str] = []
    at_checkpoint = threading.Event()
    # Given a bulk thread holding the turn, and another bulk one waiting for it
    first = _hold_turn(gate, urgent=False, log=log, name="bulk-1", checkpoint=at_checkpoint)
    assert _wait_until(lambda: log == ["bulk-1 runs"])
    second = _hold_turn(gate, urgent=False, log=log, name="bulk-2")
    time.sleep(0.1)
    assert log == ["bulk-1 runs"]  # one turn: the second bulk thread waits
    # When an urgent thread asks for the turn and the holder reaches its checkpoint
    urgent = _hold_turn(gate, urgent=True, log=log, name="urgent")
    time.sleep(0.1)
    at_checkpoint.set()
    for thread in (first, second, urgent):
        thread.join(10)
    # Then the holder gives its turn up there, the urgent thread runs next, alone
    assert log[:3] == ["bulk-1 runs", "urgent runs", "urgent ends"]
    assert sorted(log[3:]) == [
        "bulk-1 ends",
        "bulk-1 passed its checkpoint",
        "bulk-2 ends",
        "bulk-2 runs",
    ]
    assert log.index("bulk-1 ends") == log.index("bulk-1 passed its checkpoint") + 1


def test_a_bulk_thread_waits_for_a_turn_no_longer_than_the_pause_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(urgency, "MAX_PAUSE_SECONDS", 0.2)
    gate = UrgentGate(turns=1)
    gate.enter()  # an urgent item that is still fetching (it holds no turn yet) and hangs
    log: list[str] = []
    started = time.monotonic()
    _hold_turn(gate, urgent=False, log=log, name="bulk").join(10)
    assert log == ["bulk runs", "bulk ends"]
    assert 0.15 <= time.monotonic() - started < 5


def test_a_turn_held_for_long_is_shared_after_the_wait_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(urgency, "TURN_WAIT_SECONDS", 0.3)
    gate = UrgentGate(turns=1)
    log: list[str] = []
    release = threading.Event()
    # Given a thread that keeps its turn (a page that takes long to extract)
    holder = _hold_turn(gate, urgent=False, log=log, name="slow", checkpoint=release)
    assert _wait_until(lambda: log == ["slow runs"])
    # When another one waits past the bound, it runs beside it rather than run out of time
    _hold_turn(gate, urgent=False, log=log, name="next").join(10)
    assert log == ["slow runs", "next runs", "next ends"]
    release.set()
    holder.join(10)
