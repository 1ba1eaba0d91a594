"""Monitoring: workers, queue depths and health, read by the monitor."""

from __future__ import annotations

import dramatiq
import falcon
import redis

from services.api.auth import Access
from services.api.body import read_body
from services.api.envelope import reply
from services.api.schemas import DeadLettersQuery, RequeueBody, validate_query
from shared.deadletters import list_dead_letters, requeue_dead_letters
from shared.errors import InvalidRequest
from shared.feed_limits import FeedLimits
from shared.monitoring import Monitor


class WorkersResource:
    """``GET /api/monitoring/workers``."""

    access = Access.READ

    uses_database = False

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the workers that sent a heartbeat in the last minute."""
        reply(resp, self.monitor.workers())


class QueuesResource:
    """``GET /api/monitoring/queues``."""

    access = Access.READ

    uses_database = False

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer each queue's waiting, delayed, unacked and dead messages."""
        reply(resp, {"queues": self.monitor.queue_depths()})


class HealthResource:
    """``GET /api/monitoring/health``: 200 when every part answers, 503 otherwise."""

    access = Access.OPEN

    # The check opens its own connection: it must answer when the database is down.
    uses_database = False

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the health of Redis, the database and the schema."""
        health = self.monitor.health()
        healthy = health["status"] == "healthy"
        reply(resp, health, 200 if healthy else 503, success=healthy)


class DeadLettersResource:
    """``GET /api/monitoring/dead-letters``: dead letters with their recorded error."""

    access = Access.READ

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the dead letters of one queue or of all, newest first."""
        query = validate_query(DeadLettersQuery, req.params)
        letters = list_dead_letters(self.client, queue=query.queue, limit=query.limit)
        reply(resp, {"dead_letters": letters})


class RequeueResource:
    """``POST /api/monitoring/dead-letters/requeue``: send dead letters again."""

    def __init__(
        self, client: redis.Redis, broker: dramatiq.Broker, limits: FeedLimits | None = None
    ) -> None:
        self.client = client
        self.broker = broker
        self.limits = limits

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Send the chosen dead letters (or all) again; stage messages reopen their item."""
        body = read_body(req, RequeueBody)
        if not body.all and not body.ids:
            raise InvalidRequest("ids", 'give the ids to requeue, or "all": true')
        ids = None if body.all else body.ids
        reply(resp, requeue_dead_letters(self.client, self.broker, ids, self.limits))
