"""The gateway's WSGI app factory, served by gunicorn through :mod:`services.api.asgi`.

``create_app`` builds every collaborator (database binding, broker, task service,
monitor, metrics) and hands them to the resources. Nothing connects at import time, nor
in the factory: Redis and the database are first reached by the first request.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import falcon
import redis

from services.api.auth import (
    Access,
    BearerAuth,
    FailureBudget,
    HostCheck,
    RequestBudget,
    access_of,
    is_loopback_host,
)
from services.api.body import BoundedJSONHandler
from services.api.dashboard.files import PATHS as DASHBOARD_PATHS
from services.api.dashboard.files import DashboardFiles
from services.api.errors import install_error_handlers
from services.api.metrics import GatewayMetrics, MetricsResource, RequestMetrics
from services.api.middleware import BodyLimit, DatabaseSession, JSONBodies
from services.api.openapi import OpenAPIResource
from services.api.resources.feeds import FeedResource, FeedsResource
from services.api.resources.imports import IMPORTS_PATH, ImportsResource
from services.api.resources.links import LinkResource, LinksResource
from services.api.resources.monitoring import (
    DeadLettersResource,
    HealthResource,
    QueuesResource,
    RequeueResource,
    WorkersResource,
)
from services.api.resources.tags import TagMergeResource, TagRenameResource, TagsResource
from services.api.resources.tasks import (
    CancelResource,
    CreateTaskResource,
    HistoryResource,
    ItemsResource,
    RetryResource,
    TaskResource,
)
from services.api.routes import IdConverter
from services.api.schemas import LinkIdsBody, ParsingBody, PipelineBody
from shared.broker import build_broker
from shared.db import bind_database
from shared.errors import ConfigurationError
from shared.feed_limits import FeedLimits
from shared.feeds import FeedService
from shared.imports.create import Importer
from shared.monitoring import Monitor
from shared.redact import install as install_redaction
from shared.settings import Settings
from shared.tasks import TaskService

#: Monitoring must answer quickly even when Redis does not.
REDIS_TIMEOUT_S = 2.0


def is_loopback(host: str) -> bool:
    """Tell whether binding ``host`` keeps the gateway reachable from this machine only."""
    # A host name other than localhost may resolve anywhere.
    return host.startswith("unix:") or is_loopback_host(host)


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
    install_redaction()
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

    import_max_bytes = max(settings.import_max_bytes, settings.api_max_body_bytes)
    middleware: list[Any] = [RequestMetrics(metrics)]
    if token is None or settings.api_allowed_hosts:
        middleware.append(HostCheck(settings.api_allowed_hosts))
    if token is not None:
        failures = FailureBudget(client, settings.api_auth_failures)
        middleware.append(
            BearerAuth(settings.full_tokens(), settings.read_tokens(), failures=failures)
        )
    middleware += [
        RequestBudget(client, settings.api_rate_limit, settings.api_rate_burst),
        BodyLimit(settings.api_max_body_bytes, {IMPORTS_PATH: import_max_bytes}),
        JSONBodies(files=frozenset({IMPORTS_PATH})),
        DatabaseSession(),
    ]
    app = falcon.App(middleware=middleware)
    app.router_options.converters["id"] = IdConverter
    app.req_options.media_handlers[falcon.MEDIA_JSON] = BoundedJSONHandler(
        settings.api_max_body_bytes
    )
    install_error_handlers(app)

    document = OpenAPIResource()
    routes: dict[str, object] = {
        "/api/links": LinksResource(tasks),
        "/api/links/{id:id}": LinkResource(tasks),
        "/api/pipeline": CreateTaskResource(tasks, PipelineBody, "pipeline"),
        "/api/parsing/sync": CreateTaskResource(tasks, ParsingBody, "parsing"),
        "/api/ai/process": CreateTaskResource(tasks, LinkIdsBody, "ai"),
        "/api/notion/import": CreateTaskResource(tasks, LinkIdsBody, "notion"),
        "/api/tasks/history": HistoryResource(tasks),
        "/api/tasks/history/{id:id}": TaskResource(tasks),
        "/api/tasks/history/{id:id}/items": ItemsResource(tasks),
        "/api/tasks/history/{id:id}/retry": RetryResource(tasks),
        "/api/tasks/history/{id:id}/cancel": CancelResource(tasks),
        "/api/feeds": FeedsResource(feed_service),
        "/api/feeds/{id:id}": FeedResource(feed_service),
        "/api/tags": TagsResource(),
        "/api/tags/merge": TagMergeResource(tasks),
        "/api/tags/rename": TagRenameResource(tasks),
        IMPORTS_PATH: ImportsResource(Importer(tasks, feed_service), import_max_bytes),
        "/api/monitoring/workers": WorkersResource(monitor),
        "/api/monitoring/queues": QueuesResource(monitor),
        "/api/monitoring/health": HealthResource(monitor),
        "/api/monitoring/dead-letters": DeadLettersResource(client),
        "/api/monitoring/dead-letters/requeue": RequeueResource(client, broker, limits),
        "/metrics": MetricsResource(metrics),
        "/api/openapi.json": document,
    }
    for template, resource in routes.items():
        app.add_route(template, resource)
    # The document marks what needs no token from the resources themselves.
    document.open_templates = frozenset(
        template for template, resource in routes.items() if access_of(resource) is Access.OPEN
    )
    # The web dashboard: a page and its assets, outside the API (see its module). A sink
    # is not a routed resource: it must be open, as the route walk of the tests checks.
    app.add_sink(DashboardFiles(), prefix=DASHBOARD_PATHS)
    return app
