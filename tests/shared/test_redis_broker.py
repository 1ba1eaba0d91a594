"""The workers' Redis consumer: no backoff while every prefetched message is running."""

from __future__ import annotations

import time
from typing import Any

import dramatiq

from shared.broker import build_broker
from shared.redis_broker import SPARE_THREADS, Keys, PromptConsumer, to_front
from shared.settings import Settings


def _message(n: int, queue: str = "prompt-test") -> dramatiq.Message[Any]:
    return dramatiq.Message(queue_name=queue, actor_name="noop", args=(n,), kwargs={}, options={})


def test_a_full_consumer_waits_without_backing_off_and_fetches_once_a_slot_frees(
    settings: Settings,
) -> None:
    # Given three messages and a consumer that may hold two
    broker = build_broker(settings)
    broker.declare_queue("prompt-test")
    for n in range(3):
        broker.enqueue(_message(n))
    consumer = broker.consume("prompt-test", prefetch=2, timeout=1000)
    assert isinstance(consumer, PromptConsumer)
    first, second = next(consumer), next(consumer)
    assert [first.args, second.args] == [(0,), (1,)]

    # When both are still running, the consumer has nothing to hand out
    for _ in range(3):
        assert next(consumer) is None
    # Then it did not back off as if the queue were empty (Dramatiq's would sleep up to 1 s)
    assert consumer.misses == 0

    # And once one is acknowledged, the next message is fetched at once
    consumer.ack(first)
    third = next(consumer)
    assert third is not None and third.args == (2,)
    consumer.ack(second)
    consumer.ack(third)
    consumer.close()
    broker.close()


def test_an_empty_queue_is_still_polled_with_backoff(settings: Settings) -> None:
    broker = build_broker(settings)
    broker.declare_queue("prompt-empty")
    consumer = broker.consume("prompt-empty", prefetch=2, timeout=20)
    assert next(consumer) is None
    assert next(consumer) is None
    assert consumer.misses == 2
    consumer.close()
    broker.close()


def _wait_for_listeners(broker: Any, queue: str, count: int) -> None:
    channel = Keys(broker.namespace).front_channel(queue)
    deadline = time.monotonic() + 5
    while broker.client.pubsub_numsub(channel)[0][1] != count:
        assert time.monotonic() < deadline, f"not {count} consumers listen on {channel}"
        time.sleep(0.01)


def _next_message(consumer: Any, seconds: float) -> Any:
    """Return the consumer's next message, or None if none comes within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = next(consumer)
        if message is not None:
            return message
    return None


def _queued(broker: Any, queue: str) -> list[str]:
    return [member.decode() for member in broker.client.lrange(f"dramatiq:{queue}", 0, -1)]


def test_a_full_consumer_takes_a_message_moved_to_the_front_into_its_spare_slot(
    settings: Settings,
) -> None:
    # Given two full consumers of one queue (one message each) and bulk messages waiting
    broker = build_broker(settings)
    broker.declare_queue("spare-test")
    sent = [broker.enqueue(_message(n, "spare-test")) for n in range(4)]
    consumers = [broker.consume("spare-test", prefetch=1, timeout=1000) for _ in range(2)]
    running = [next(consumer) for consumer in consumers]
    assert [message.args for message in running] == [(0,), (1,)]
    _wait_for_listeners(broker, "spare-test", 2)

    # When an urgent message is sent and moved to the head of the queue
    urgent = broker.enqueue(_message(99, "spare-test"))
    to_front(broker, urgent)

    # Then exactly one consumer takes it at once, beyond its prefetch, and no bulk message
    taken = [_next_message(consumer, 0.5) for consumer in consumers]
    assert sorted(str(message and message.args) for message in taken) == ["(99,)", "None"]
    assert [consumer.outstanding_message_count for consumer in consumers].count(2) == 1
    assert _queued(broker, "spare-test") == [m.options["redis_message_id"] for m in sent[2:]]

    # And once everything running is acknowledged, the bulk messages go on in their order
    for consumer, message in zip(consumers, taken, strict=True):
        if message is not None:
            consumer.ack(message)
    for consumer, message in zip(consumers, running, strict=True):
        consumer.ack(message)
    following = [_next_message(consumer, 2.0) for consumer in consumers]
    assert sorted(message.args for message in following) == [(2,), (3,)]
    for consumer, message in zip(consumers, following, strict=True):
        consumer.ack(message)
        consumer.close()
    _wait_for_listeners(broker, "spare-test", 0)  # closed consumers stop listening
    broker.close()


def test_a_consumer_whose_spare_slot_is_taken_leaves_the_next_urgent_message_queued(
    settings: Settings,
) -> None:
    # Given a consumer running its prefetch and an urgent message in its spare slot
    broker = build_broker(settings)
    broker.declare_queue("spare-full")
    broker.enqueue(_message(0, "spare-full"))
    consumer = broker.consume("spare-full", prefetch=1, timeout=1000)
    bulk = next(consumer)
    _wait_for_listeners(broker, "spare-full", 1)
    to_front(broker, broker.enqueue(_message(98, "spare-full")))
    first = _next_message(consumer, 2.0)
    assert first is not None and first.args == (98,)
    assert consumer.outstanding_message_count == 1 + SPARE_THREADS

    # When another urgent message is moved to the front
    second = broker.enqueue(_message(99, "spare-full"))
    to_front(broker, second)

    # Then it waits at the head of the queue for the next free slot
    assert _next_message(consumer, 0.3) is None
    assert _queued(broker, "spare-full") == [second.options["redis_message_id"]]
    consumer.ack(first)
    consumer.ack(bulk)
    after = _next_message(consumer, 2.0)
    assert after is not None and after.args == (99,)
    consumer.ack(after)
    consumer.close()
    broker.close()
