"""Broker set-up: the Redis broker with the project's middleware, or an in-memory one.

Worker commands run ``dramatiq shared.broker:setup services.<service>.actors``: Dramatiq
calls :func:`setup` before it imports the actors, so nothing connects at import time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware, Retries
from dramatiq.middleware.prometheus import DB_PATH as PROMETHEUS_DB
from dramatiq.middleware.prometheus import Prometheus
from periodiq import PeriodiqMiddleware

from shared.db import bind_database
from shared.feed_limits import FeedLimits
from shared.logs import configure_logging
from shared.middleware.db import DatabaseConnection
from shared.middleware.metrics import StageMetrics
from shared.middleware.registry import WorkerRegistry
from shared.middleware.retries import RetrySchedule
from shared.middleware.tracking import ItemTracking
from shared.middleware.urgency import UrgentFirst
from shared.migrations import require_schema
from shared.pipeline import QUEUES
from shared.redact import install as install_redaction
from shared.redis_broker import PromptRedisBroker
from shared.settings import Settings, get_settings, use_settings

logger = logging.getLogger(__name__)


def worker_middleware(settings: Settings) -> list[Middleware]:
    """Return the project's middleware, each placed where its hooks must run."""
    return [
        DatabaseConnection(),
        # Both read each stage's own retry policy from the settings (one rule per queue).
        ItemTracking(
            settings.stage_max_deliveries,
            settings.reconcile_grace,
            FeedLimits.from_settings(settings),
        ),
        RetrySchedule(settings.retry_delay),
    ]


def _install(broker: dramatiq.Broker, settings: Settings, *, redis_backed: bool) -> None:
    database, tracking, schedule = worker_middleware(settings)
    # Before-hooks run in list order and after-hooks in reverse: the connection opens
    # first and closes last; tracking records an outcome before Retries re-enqueues and
    # before Pipelines sends the next stage (see its module); the schedule sets the
    # backoff before either of them reads it.
    broker.add_middleware(database, before=broker.middleware[0].__class__)
    broker.add_middleware(tracking, after=Retries)
    broker.add_middleware(schedule, after=ItemTracking)
    # Last in the list, so its after-hook sees the message before Retries changes it.
    broker.add_middleware(StageMetrics())
    # What lives in Redis (the worker registry, urgent work shared between processes)
    # only where there is Redis: chosen here, once.
    if redis_backed:
        broker.add_middleware(WorkerRegistry())
    broker.add_middleware(UrgentFirst(shared=redis_backed))
    # Every process that declares a periodic actor needs it, before the actor.
    broker.add_middleware(PeriodiqMiddleware(skip_delay=30))
    for queue in QUEUES:
        broker.declare_queue(queue)


def build_broker(settings: Settings, *, stub: bool = False) -> dramatiq.Broker:
    """Build the Redis broker (or an in-memory one) with the project's middleware."""
    broker: dramatiq.Broker
    if stub:
        broker = StubBroker()
    else:
        # Bounded socket waits: an unresponsive Redis fails a request instead of hanging it.
        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=5, socket_timeout=10
        )
        broker = PromptRedisBroker(
            client=client,
            heartbeat_timeout=settings.heartbeat_timeout_ms,
            maintenance_chance=settings.maintenance_chance,
        )
        # Dramatiq's metrics (messages, errors, retries, durations) served on 9191 by the
        # worker command; the gateway's broker only sends, so it never serves them.
        broker.add_middleware(Prometheus())
    _install(broker, settings, redis_backed=not stub)
    return broker


def setup(
    settings: Settings | None = None, *, middleware: Sequence[Middleware] = (), **kwargs: Any
) -> dramatiq.Broker:
    """Read settings, bind the database and install the broker as Dramatiq's global one.

    This is the worker commands' entry point (``dramatiq shared.broker:setup …``): it
    also points ``prometheus_client`` at Dramatiq's multiprocess folder before any module
    imports it, so the project's worker metrics are served with Dramatiq's on 9191.
    Dramatiq calls it in each worker process and periodiq in its one process, so it
    is where their logs start redacting URL userinfo and take ``LOG_LEVEL``. An
    in-memory pipeline (``stub=True``: local mode, tests) logs as its host process
    decided. A service with middleware of its own passes it (``middleware``) from its
    own setup callable (``services.parser.worker:setup``): no actor module adds any.
    """
    install_redaction()
    settings = settings or get_settings()
    if not kwargs.get("stub"):
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", PROMETHEUS_DB)
        configure_logging(settings.log_level)
    use_settings(settings)
    bind_database(settings.database_url)
    if not kwargs.get("stub"):
        require_schema(settings.database_url)
    broker = build_broker(settings, **kwargs)
    for extra in middleware:
        broker.add_middleware(extra)
    dramatiq.set_broker(broker)
    return broker
