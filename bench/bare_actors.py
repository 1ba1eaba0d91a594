"""Bare Dramatiq no-op actors: the queue benchmark's baseline.

Dramatiq's own Redis broker with its default middleware, three actors on the stages'
queues, chained with ``dramatiq.pipeline`` (Dramatiq's own way to run stages in order;
the project feeds each stage from the database instead): no database, no tracking. The
last actor counts finished items in :data:`DONE`. Run by ``dramatiq bench.bare_actors
--queues …``; :func:`send` enqueues from the benchmark.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench.harness import REDIS_URL

DONE = "bench:bare:done"

broker = RedisBroker(url=REDIS_URL)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="parsing", max_retries=0)
def bare_parse(item_id: int) -> None:
    """Do nothing on the parsing queue."""


@dramatiq.actor(queue_name="ai", max_retries=0)
def bare_enrich(item_id: int) -> None:
    """Do nothing on the ai queue."""


@dramatiq.actor(queue_name="notion", max_retries=0)
def bare_publish(item_id: int) -> None:
    """Count the item as done."""
    broker.client.incr(DONE)


def send(item_ids: range) -> None:
    """Enqueue one three-message chain per item."""
    actors: list[dramatiq.Actor[Any, Any]] = [bare_parse, bare_enrich, bare_publish]
    for item_id in item_ids:
        messages = [
            actor.message_with_options(args=(item_id,), pipe_ignore=True) for actor in actors
        ]
        dramatiq.pipeline(messages, broker=broker).run()
