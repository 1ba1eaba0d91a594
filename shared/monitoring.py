"""Read queue depths, workers and health from Redis and the database (no HTTP here).

Dramatiq's Redis layout (namespace ``dramatiq``): ``<q>`` list = waiting; ``<q>.msgs`` hash =
every message not yet acknowledged; ``<q>.DQ.msgs`` hash = delayed and retrying;
``<q>.XQ`` zset = dead letters; ``__heartbeats__`` zset of broker ids scored by their last
command in ms; ``__acks__.<broker id>.<q>`` sets = messages a worker holds. The project's
``kbm:workers`` hash tells worker processes from clients that only send.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

import redis
from peewee import fn

from shared.db import database
from shared.feed_limits import PRIORITIES
from shared.middleware.registry import WORKERS_KEY
from shared.migrations import pending_versions
from shared.models import Status, Task, TaskItem
from shared.pipeline import QUEUES, get_stage
from shared.redis_broker import Keys

logger = logging.getLogger(__name__)

#: Redis key holding when the reconciler last finished a run (Unix time, seconds).
RECONCILER_LAST_RUN = "kbm:reconciler:last_run"
#: The reconciler runs every minute; this long without a run, the scheduler or the
#: housekeeping worker is missing or stuck (``kbm doctor``; the KbmReconcilerBehind alert).
RECONCILER_LATE_S = 300
#: A worker whose last heartbeat is older than this is not listed, unless the caller
#: passes Dramatiq's own timeout (``HEARTBEAT_TIMEOUT_MS``), as the gateway does.
HEARTBEAT_WINDOW_S = 60.0
#: Keys SCAN looks at per call: a few round trips even with many keys, never a long block.
SCAN_COUNT = 500


#: The kinds of broker :meth:`Monitor.workers` lists: a worker process that consumes
#: queues (registered), or a client that only sends (the gateway, ``kbm doctor``).
WORKER = "worker"
CLIENT = "client"


def processes_only(brokers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the worker processes among brokers listed by :meth:`Monitor.workers`."""
    return [broker for broker in brokers if broker["kind"] == WORKER]


def unconsumed(queues: Iterable[str], workers: list[dict[str, Any]]) -> list[str]:
    """Return the ``queues`` no worker process listed by :meth:`Monitor.workers` consumes."""
    consumed = {queue for worker in processes_only(workers) for queue in worker["consumes"]}
    return [queue for queue in queues if queue not in consumed]


def _escape_glob(text: str) -> str:
    return "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in text)


class Monitor:
    """Answer the monitoring questions from Redis (and the database for health)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = "dramatiq",
        queues: Iterable[str] = QUEUES,
        own_ids: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        window_s: float = HEARTBEAT_WINDOW_S,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.keys = Keys(namespace)
        self.queues = tuple(queues)
        # Dramatiq records a heartbeat for every broker command, sends included, so the
        # gateway's own broker shows up among the workers; it is flagged, not hidden.
        self.own_ids = frozenset(own_ids)
        self.clock = clock
        self.window_s = window_s

    def queue_depths(self) -> dict[str, dict[str, int]]:
        """Return per queue: waiting, delayed (incl. retrying), unacked and dead messages."""
        pipe = self.client.pipeline(transaction=False)
        for queue in self.queues:
            pipe.llen(self.keys.queue(queue))
            pipe.hlen(self.keys.delayed(queue))
            pipe.hlen(self.keys.messages(queue))
            pipe.zcard(self.keys.dead(queue)[0])
        counts = pipe.execute()
        return {
            queue: dict(
                zip(
                    ("waiting", "delayed", "unacked", "dead"),
                    counts[4 * n : 4 * n + 4],
                    strict=True,
                )
            )
            for n, queue in enumerate(self.queues)
        }

    def _held(self) -> dict[str, dict[str, int]]:
        """Return per broker id the queues it holds messages of, and how many (SCAN, no KEYS)."""
        prefix = self.keys.acks_prefix()
        held: dict[str, dict[str, int]] = {}
        keys: list[bytes] = list(
            self.client.scan_iter(match=_escape_glob(prefix) + "*", count=SCAN_COUNT)
        )
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.scard(key)
        for key, size in zip(keys, pipe.execute(), strict=True):
            worker_id, _, queue = key.decode().removeprefix(prefix).partition(".")
            if size:
                held.setdefault(worker_id, {})[queue] = size
        return held

    def _heartbeats(self, now_ms: float) -> list[tuple[bytes, float]]:
        """Return (broker id, last heartbeat in ms) of the brokers seen within the window."""
        return cast(
            list[tuple[bytes, float]],
            self.client.zrangebyscore(
                self.keys.heartbeats(),
                now_ms - self.window_s * 1000,
                "+inf",
                withscores=True,
            ),
        )

    def workers(self) -> dict[str, Any]:
        """Return the brokers seen in the last minute with their heartbeat age and holdings."""
        now_ms = self.clock() * 1000
        seen = self._heartbeats(now_ms)
        held = self._held() if seen else {}
        registered = self._registered([member for member, _ in seen])
        workers = []
        for member, score in sorted(seen, key=lambda pair: -pair[1]):
            worker_id = member.decode()
            entry = registered.get(worker_id)
            workers.append(
                {
                    "id": worker_id,
                    "last_heartbeat_at": datetime.fromtimestamp(score / 1000, UTC)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "last_heartbeat_age_s": round(max(0.0, now_ms - score) / 1000, 3),
                    "queues": held.get(worker_id, {}),
                    "gateway": worker_id in self.own_ids,
                    # A worker process consuming queues, or a client that only sends.
                    "kind": WORKER if entry is not None else CLIENT,
                    "consumes": entry.get("queues", []) if entry else [],
                    "pid": entry.get("pid") if entry else None,
                    "host": entry.get("host") if entry else None,
                }
            )
        return {
            "workers": workers,
            "window_s": self.window_s,
            "alive": len(processes_only(workers)),
        }

    def worker_processes(self) -> list[dict[str, Any]]:
        """Return the worker processes seen in the window (as :meth:`workers` lists them).

        Dramatiq records a heartbeat for every broker that sends, so the gateway,
        ``kbm doctor``'s probe broker or a script show up among the heartbeats; they
        never register (``shared.middleware.registry``), so they are left out here.
        """
        return processes_only(self.workers()["workers"])

    def worker_entries(self, queue: str) -> list[dict[str, Any]]:
        """Return the registry entries (with ``id``) of live workers consuming ``queue``."""
        alive = [member for member, _ in self._heartbeats(self.clock() * 1000)]
        return [
            {"id": worker_id, **entry}
            for worker_id, entry in sorted(self._registered(alive).items())
            if queue in entry.get("queues", [])
        ]

    def _registered(self, members: list[bytes]) -> dict[str, dict[str, Any]]:
        """Return the registry entries (see ``shared.middleware.registry``) of ``members``."""
        if not members:
            return {}
        values = self.client.hmget(WORKERS_KEY, members)
        found: dict[str, dict[str, Any]] = {}
        for member, value in zip(members, cast(list[bytes | None], values), strict=True):
            if value is not None:
                try:
                    found[member.decode()] = json.loads(value)
                except ValueError:
                    found[member.decode()] = {}
        return found

    def health(self) -> dict[str, Any]:
        """Return whether Redis and the database answer and the schema is up to date."""
        checks: dict[str, dict[str, Any]] = {
            "redis": self._check(self.client.ping),
            "database": self._check(_select_one),
        }
        if checks["database"]["ok"]:
            pending: list[int] | None = None
            try:
                pending = pending_versions()
            except Exception as ex:  # any failure is an unhealthy answer, never a 500
                logger.warning("health: reading the migrations failed: %r", ex)
            checks["migrations"] = {"ok": pending == [], "pending": pending}
        else:
            checks["migrations"] = {"ok": False, "pending": None}
        healthy = all(check["ok"] for check in checks.values())
        return {"status": "healthy" if healthy else "unhealthy", "checks": checks}

    @staticmethod
    def _check(probe: Callable[[], Any]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            probe()
        except Exception as ex:  # any failure is an unhealthy answer, never a 500
            # The endpoint is open to all: the class name only, the message to the log.
            logger.warning("health: %s failed: %r", getattr(probe, "__name__", probe), ex)
            return {"ok": False, "error": type(ex).__name__}
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _select_one() -> None:
    with database.connection_context():
        database.execute_sql("SELECT 1")


def pipeline_counts() -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Return items counted by (stage, status) and tasks counted by status."""
    with database.connection_context():
        items: Any = (
            TaskItem.select(TaskItem.stage, TaskItem.status, fn.COUNT(TaskItem.id))
            .group_by(TaskItem.stage, TaskItem.status)
            .tuples()
        )
        tasks: Any = Task.select(Task.status, fn.COUNT(Task.id)).group_by(Task.status).tuples()
        return {(stage, status): count for stage, status, count in items}, dict(tasks)


def feed_counts() -> dict[str, dict[tuple[str, str], int]]:
    """Return items waiting to be fed and fed but not started, by (queue, feed priority).

    Every queue and priority is present (zero when none): bounded, stable label sets.
    """
    counts: dict[str, dict[tuple[str, str], int]] = {
        state: {
            (get_stage(stage).queue, priority): 0
            for stage in ("parse", "enrich", "publish")
            for priority in PRIORITIES
        }
        for state in ("waiting", "queued")
    }
    state_of = {Status.PENDING.value: "waiting", Status.QUEUED.value: "queued"}
    with database.connection_context():
        rows: Any = (
            TaskItem.select(TaskItem.stage, TaskItem.status, Task.feed_rank, fn.COUNT(TaskItem.id))
            .join(Task)
            .where(TaskItem.status.in_(list(state_of)))
            .group_by(TaskItem.stage, TaskItem.status, Task.feed_rank)
            .tuples()
        )
        for stage, status, rank, count in rows:
            key = (get_stage(stage).queue, PRIORITIES[rank])
            counts[state_of[status]][key] += count
    return counts
