"""No-op actors for the three stages, loaded by the real worker command.

``dramatiq shared.broker:setup bench.noop_stages --queues parsing`` runs them with the
project's broker and middleware (database connection, item tracking, retries, metrics):
what is left of a stage is the queue and the tracking, which the queue and latency
benchmarks measure. With ``BENCH_RECORD_STARTS=1`` each actor pushes
``"<item id> <unix time>"`` to the Redis list :data:`STARTS` as it begins.
"""

from __future__ import annotations

import os
import time
from typing import cast

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from shared.pipeline import ENRICH, PARSE, PUBLISH, stage_actor

STARTS = "bench:starts"
_RECORD = os.environ.get("BENCH_RECORD_STARTS") == "1"


def _started(item_id: int) -> None:
    if _RECORD:
        client = cast(RedisBroker, dramatiq.get_broker()).client
        client.rpush(STARTS, f"{item_id} {time.time()!r}")


@stage_actor(PARSE)
def parse_item(item_id: int) -> None:
    """Do nothing in the parse stage."""
    _started(item_id)


@stage_actor(ENRICH)
def enrich_item(item_id: int) -> None:
    """Do nothing in the enrich stage."""
    _started(item_id)


@stage_actor(PUBLISH)
def publish_item(item_id: int) -> None:
    """Do nothing in the publish stage."""
    _started(item_id)
