"""The workers' Redis consumer: no backoff while every prefetched message is running."""

from __future__ import annotations

from typing import Any

import dramatiq

from shared.broker import build_broker
from shared.consumer import PromptConsumer
from shared.settings import Settings


def _message(n: int) -> dramatiq.Message[Any]:
    return dramatiq.Message(
        queue_name="prompt-test", actor_name="noop", args=(n,), kwargs={}, options={}
    )


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
