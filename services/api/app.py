"""The gateway's app factory: ``gunicorn 'services.api.app:create_app()'``.

``create_app`` builds every collaborator (database binding, broker, task service,
monitor, metrics) and hands them to the resources. Nothing connects at import time, nor
in the factory: Redis and the database are first reached by the first request.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import dramatiq
import falcon
import redis

from services.api.auth import BearerAuth, RequestBudget
from services.api.body import BoundedJSONHandler
from services.api.dashboard.files import PATHS as DASHBOARD_PATHS
from services.api.dashboard.files import DashboardFiles
from services.api.errors import install_error_handlers
from services.api.metrics import GatewayMetrics, MetricsResource, RequestMetrics
from services.api.middleware import BodyLimit, DatabaseSession, IdRange, JSONBodies
from services.api.openapi import OpenAPIResource
from services.api.resources.feeds import FeedResource, FeedsResource
from services.api.resources.links import LinkResource, LinksResource
from services.api.resources.monitoring import (
    DeadLettersResource,
    HealthResource,
    QueuesResource,
    RequeueResource,
    WorkersResource,
)
from services.api.resources.tasks import (
    CancelResource,
    CreateTaskResource,
    HistoryResource,
    ItemsResource,
    RetryResource,
    TaskResource,
)
from services.api.schemas import LinkIdsBody, ParsingBody, PipelineBody
from shared.broker import build_broker
from shared.db import bind_database
from shared.errors import ConfigurationError
from shared.feeding import FeedLimits
from shared.feeds import FeedService
from shared.monitoring import Monitor
from shared.settings import Settings
from shared.tasks import TaskService

#: Routes that answer without a token: load balancers and API clients read them first.
OPEN_PATHS = frozenset({"/api/monitoring/health", "/api/openapi.json"})
#: Monitoring must answer quickly even when Redis does not.
REDIS_TIMEOUT_S = 2.0


def is_loopback(host: str) -> bool:
    """Tell whether binding ``host`` keeps the gateway reachable from this machine only."""
    host = host.strip("[]")
    if host == "localhost" or host.startswith("unix:"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve anywhere
        return False


def configured_token(settings: Settings) -> str | None:
    """Return the first configured token, or ``None`` when none is (blank ones do not count).

    An empty ``API_TOKEN=`` line in a .env must not count as protection.
    """
    tokens = settings.full_tokens() + settings.read_tokens()
    return tokens[0] if tokens else None


def refuse_open_bind(host: str, has_token: bool) -> None:
    """Raise ``ConfigurationError`` when ``host`` is beyond loopback and no token is set."""
    if not has_token and not is_loopback(host):
        raise ConfigurationError(
            f"API_TOKEN is not set: refusing to bind {host!r} beyond loopback, where anyone "
            "could submit work; set API_TOKEN, or API_HOST=127.0.0.1"
        )


def create_app(
    settings: Settings | None = None, *, broker: dramatiq.Broker | None = None
) -> falcon.App:
    """Build the gateway's WSGI app from ``settings`` (default: the environment)."""
    settings = settings or Settings.from_env()
    token = configured_token(settings)
    refuse_open_bind(settings.api_host, token is not None)
    bind_database(settings.database_url)
    if broker is None:
        broker = build_broker(settings)
    limits = FeedLimits.from_settings(settings)
    tasks = TaskService(
        broker,
        max_urls=settings.api_max_urls,
        max_open_tasks=settings.api_max_open_tasks,
        limits=limits,
    )
    feed_service = FeedService(tasks)
    client = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
    )
    own_id = getattr(broker, "broker_id", None)
    monitor = Monitor(
        client,
        own_ids=[own_id] if own_id else [],
        window_s=settings.heartbeat_timeout_ms / 1000,
    )
    metrics = GatewayMetrics(monitor)

    middleware: list[Any] = [RequestMetrics(metrics)]
    if token is not None:
        middleware.append(
            BearerAuth(settings.full_tokens(), settings.read_tokens(), open_paths=OPEN_PATHS)
        )
    middleware += [
        RequestBudget(client, settings.api_rate_limit, settings.api_rate_burst),
        BodyLimit(settings.api_max_body_bytes),
        JSONBodies(),
        IdRange(),
        DatabaseSession(),
    ]
    app = falcon.App(middleware=middleware)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = BoundedJSONHandler(
        settings.api_max_body_bytes
    )
    install_error_handlers(app)

    app.add_route("/api/links", LinksResource(tasks))
    app.add_route("/api/links/{id:int}", LinkResource(tasks))
    app.add_route("/api/pipeline", CreateTaskResource(tasks, PipelineBody, "pipeline"))
    app.add_route("/api/parsing/sync", CreateTaskResource(tasks, ParsingBody, "parsing"))
    app.add_route("/api/ai/process", CreateTaskResource(tasks, LinkIdsBody, "ai"))
    app.add_route("/api/notion/import", CreateTaskResource(tasks, LinkIdsBody, "notion"))
    app.add_route("/api/tasks/history", HistoryResource(tasks))
    app.add_route("/api/tasks/history/{id:int}", TaskResource(tasks))
    app.add_route("/api/tasks/history/{id:int}/items", ItemsResource(tasks))
    app.add_route("/api/tasks/history/{id:int}/retry", RetryResource(tasks))
    app.add_route("/api/tasks/history/{id:int}/cancel", CancelResource(tasks))
    app.add_route("/api/feeds", FeedsResource(feed_service))
    app.add_route("/api/feeds/{id:int}", FeedResource(feed_service))
    app.add_route("/api/monitoring/workers", WorkersResource(monitor))
    app.add_route("/api/monitoring/queues", QueuesResource(monitor))
    app.add_route("/api/monitoring/health", HealthResource(monitor))
    app.add_route("/api/monitoring/dead-letters", DeadLettersResource(client))
    app.add_route("/api/monitoring/dead-letters/requeue", RequeueResource(client, broker, limits))
    app.add_route("/metrics", MetricsResource(metrics))
    app.add_route("/api/openapi.json", OpenAPIResource())
    # The web dashboard: a page and its assets, outside the API (see its module).
    app.add_sink(DashboardFiles(), prefix=DASHBOARD_PATHS)
    return app
