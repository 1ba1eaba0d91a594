"""Worker processes say who they are in Redis, so monitoring can tell them from clients.

Dramatiq records a heartbeat for every broker that talks to Redis — a worker, but also
the gateway, ``kbm doctor`` or a script sending messages. A worker process adds itself
to the ``kbm:workers`` hash when it boots (its broker id → queues, pid, host), writes
its entry again every :data:`REFRESH_SECONDS` while it runs (Redis may lose its data, or
be unreachable when the worker boots: the entry comes back with the heartbeats) and
removes itself when it shuts down; one killed is dropped by the cleanup once its
heartbeat is gone. Monitoring counts as workers only the heartbeats found there.

A service adds what only its own processes know to their entries with
:func:`describe_worker` (a parser's fetch guard, read back by ``kbm doctor``): the entry
lives exactly as long as the process, and its heartbeat tells whether it still runs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from shared.redis_broker import is_delay_queue

logger = logging.getLogger(__name__)

#: Hash of broker id → JSON description of a worker process.
WORKERS_KEY = "kbm:workers"
#: Entry field of a parser process: its fetch guard (``Settings.fetch_guard``).
FETCH_GUARD = "fetch_guard"
#: Seconds between two writes of a running worker's entry (well inside the minute
#: monitoring looks back for heartbeats).
REFRESH_SECONDS = 15.0


class WorkerRegistry(Middleware):
    """Register a worker process in Redis while it runs (installed on Redis brokers only)."""

    def __init__(self, refresh_seconds: float = REFRESH_SECONDS) -> None:
        #: More of what this process says about itself (see :func:`describe_worker`).
        self.facts: dict[str, Any] = {}
        self.refresh_seconds = refresh_seconds
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Add this process to the registry, and keep it there while it runs."""
        assert isinstance(broker, RedisBroker)
        queues = sorted(worker.consumer_whitelist or broker.get_declared_queues())
        entry = json.dumps(
            {
                "queues": [queue for queue in queues if not is_delay_queue(queue)],
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": time.time(),
                **self.facts,
            }
        )
        self._write(broker, entry)
        self._stop.clear()
        self._refresher = threading.Thread(
            target=self._refresh, args=(broker, entry), name="kbm-worker-registry", daemon=True
        )
        self._refresher.start()

    def _refresh(self, broker: RedisBroker, entry: str) -> None:
        while not self._stop.wait(self.refresh_seconds):
            self._write(broker, entry)

    @staticmethod
    def _write(broker: RedisBroker, entry: str) -> None:
        try:
            broker.client.hset(WORKERS_KEY, broker.broker_id, entry)
        except Exception as ex:  # monitoring must never stop a worker from working
            logger.warning("could not register the worker in Redis: %r", ex)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Remove this process from the registry."""
        assert isinstance(broker, RedisBroker)
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join()
        try:
            broker.client.hdel(WORKERS_KEY, broker.broker_id)
        except Exception as ex:
            logger.warning("could not unregister the worker in Redis: %r", ex)


def describe_worker(broker: dramatiq.Broker, name: str, value: Any) -> None:
    """Add ``name: value`` to this process's registry entry; call before it boots."""
    for middleware in broker.middleware:
        if isinstance(middleware, WorkerRegistry):
            middleware.facts[name] = value
