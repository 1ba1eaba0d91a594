"""Monitoring: workers, queue depths and health, read by the monitor."""

from __future__ import annotations

import falcon

from services.api.envelope import reply
from shared.monitoring import Monitor


class WorkersResource:
    """``GET /api/monitoring/workers``."""

    uses_database = False

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the workers that sent a heartbeat in the last minute."""
        reply(resp, self.monitor.workers())


class QueuesResource:
    """``GET /api/monitoring/queues``."""

    uses_database = False

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer each queue's waiting, delayed, unacked and dead messages."""
        reply(resp, {"queues": self.monitor.queue_depths()})


class HealthResource:
    """``GET /api/monitoring/health``: 200 when every part answers, 503 otherwise."""

    # The check opens its own connection: it must answer when the database is down.
    uses_database = False

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the health of Redis, the database and the schema."""
        health = self.monitor.health()
        healthy = health["status"] == "healthy"
        reply(resp, health, 200 if healthy else 503, success=healthy)
