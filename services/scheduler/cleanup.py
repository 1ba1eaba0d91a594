"""Housekeeping: drop finished tasks and Dramatiq leftovers past the retention period."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

from shared.db import database
from shared.middleware.registry import WORKERS_KEY
from shared.models import Task, utcnow
from shared.pipeline import QUEUES
from shared.redis_broker import Keys

logger = logging.getLogger(__name__)

#: Rows or keys removed per statement/command: bounded work per round trip.
CHUNK = 500


@dataclass
class CleanupReport:
    """What one cleanup removed."""

    tasks: int = 0
    dead_letters: int = 0
    heartbeats: int = 0


def delete_finished_tasks(older_than: datetime) -> int:
    """Delete tasks finished before ``older_than`` (their items and stage runs cascade)."""
    removed = 0
    with database.connection_context():
        while True:
            ids = [
                task.id
                for task in Task.select(Task.id)
                .where(Task.finished_at.is_null(False) & (Task.finished_at < older_than))
                .limit(CHUNK)
            ]
            if not ids:
                return removed
            with database.atomic():
                removed += Task.delete().where(Task.id.in_(ids)).execute()


def trim_dead_letters(client: redis.Redis, older_than_ms: int, namespace: str = "dramatiq") -> int:
    """Remove dead-lettered messages older than ``older_than_ms`` (epoch ms) from every queue."""
    removed = 0
    for queue in QUEUES:
        xq, messages = Keys(namespace).dead(queue)
        while True:
            ids = client.zrangebyscore(xq, "-inf", older_than_ms, start=0, num=CHUNK)
            if not ids:
                break
            pipe = client.pipeline()
            pipe.hdel(messages, *ids)
            pipe.zrem(xq, *ids)
            pipe.execute()
            removed += len(ids)
    return removed


def trim_heartbeats(client: redis.Redis, older_than_ms: int, namespace: str = "dramatiq") -> int:
    """Forget workers whose last heartbeat is older than ``older_than_ms`` (epoch ms).

    Registry entries (``kbm:workers``) of processes without a heartbeat go too: those of
    workers that were killed and never said goodbye.
    """
    beats = Keys(namespace).heartbeats()
    removed = int(client.zremrangebyscore(beats, "-inf", older_than_ms))
    cursor = 0
    while True:
        cursor, entries = client.hscan(WORKERS_KEY, cursor, count=CHUNK)
        gone = [worker_id for worker_id in entries if client.zscore(beats, worker_id) is None]
        if gone:
            client.hdel(WORKERS_KEY, *gone)
        if cursor == 0:
            return removed


def cleanup(
    client: redis.Redis | None,
    retention_days: float,
    *,
    now: Callable[[], datetime] = utcnow,
    wall_ms: Callable[[], float] = lambda: time.time() * 1000,
) -> CleanupReport:
    """Remove what is older than the retention period; return what was removed."""
    cutoff = now() - timedelta(days=retention_days)
    cutoff_ms = int(wall_ms() - retention_days * 86_400_000)
    report = CleanupReport(tasks=delete_finished_tasks(cutoff))
    if client is not None:
        report.dead_letters = trim_dead_letters(client, cutoff_ms)
        report.heartbeats = trim_heartbeats(client, cutoff_ms)
    logger.info("cleanup: %s", json.dumps(report.__dict__))
    return report
