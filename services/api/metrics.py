"""Gateway metrics for Prometheus: requests by route template, latency, queue depths.

Labels are route templates (``/api/tasks/history/{id:int}``), never raw paths: one
series per route, however many ids are asked for. Queue depths are read from Redis when
Prometheus scrapes, so they are never stale and cost nothing between scrapes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from services.api.auth import Access
from shared.monitoring import (
    RECONCILER_LAST_RUN,
    Monitor,
    feed_counts,
    pipeline_counts,
    processes_only,
)

logger = logging.getLogger(__name__)

#: The label of requests that matched no route (404s, and 401s refused before routing).
UNMATCHED = "unmatched"


class QueueDepthCollector(Collector):
    """Collect each queue's message counts from Redis at scrape time."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        """Yield the queue depths, and whether Redis answered."""
        up = GaugeMetricFamily(
            "kbm_redis_up", "Whether the gateway could read Redis (1) or not (0)."
        )
        try:
            depths = self.monitor.queue_depths()
        except Exception as ex:  # a scrape must still answer when Redis is down
            logger.warning("metrics: reading queue depths failed: %r", ex)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        gauge = GaugeMetricFamily(
            "kbm_queue_messages",
            "Messages per Dramatiq queue by state (waiting, delayed, unacked, dead).",
            labels=["queue", "state"],
        )
        for queue, counts in depths.items():
            for state, count in counts.items():
                gauge.add_metric([queue, state], count)
        yield gauge


class StateCollector(Collector):
    """Collect items by stage and status, tasks by status, live workers and the reconciler."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        """Yield what PostgreSQL and Redis say now; skip a part that cannot be read."""
        try:
            items, tasks = pipeline_counts()
        except Exception as ex:  # a scrape must still answer when the database is down
            logger.warning("metrics: reading item counts failed: %r", ex)
        else:
            gauge = GaugeMetricFamily(
                "kbm_items", "Task items by current stage and status.", labels=["stage", "status"]
            )
            for (stage, status), count in sorted(items.items()):
                gauge.add_metric([stage, status], count)
            yield gauge
            gauge = GaugeMetricFamily("kbm_tasks", "Tasks by status.", labels=["status"])
            for status, count in sorted(tasks.items()):
                gauge.add_metric([status], count)
            yield gauge
        yield from self._feeding()
        try:
            workers = self.monitor.workers()["workers"]
            last_run = self.monitor.client.get(RECONCILER_LAST_RUN)
        except Exception as ex:
            logger.warning("metrics: reading workers failed: %r", ex)
            return
        alive = len(processes_only(workers))
        yield GaugeMetricFamily(
            "kbm_workers_alive", "Worker processes with a heartbeat in the last minute.", alive
        )
        if last_run is not None:
            yield GaugeMetricFamily(
                "kbm_reconciler_last_run_timestamp_seconds",
                "When the reconciler last finished a run (Unix time).",
                float(last_run),
            )

    @staticmethod
    def _feeding() -> Iterator[Metric]:
        try:
            counts = feed_counts()
        except Exception as ex:  # a scrape must still answer when the database is down
            logger.warning("metrics: reading feed counts failed: %r", ex)
            return
        described = {
            "waiting": (
                "kbm_items_waiting",
                "Task items waiting in the database to be fed to a queue, by feed priority.",
            ),
            "queued": (
                "kbm_items_queued",
                "Task items fed to a queue and not yet running, by feed priority.",
            ),
        }
        for state, (name, documentation) in described.items():
            gauge = GaugeMetricFamily(name, documentation, labels=["queue", "priority"])
            for (queue, priority), count in sorted(counts[state].items()):
                gauge.add_metric([queue, priority], count)
            yield gauge


class GatewayMetrics:
    """The gateway's registry and its request metrics."""

    def __init__(self, monitor: Monitor) -> None:
        # A registry per app, not the global one: each app (and test) counts on its own.
        # Under gunicorn (PROMETHEUS_MULTIPROC_DIR set by its config) every worker process
        # writes its counts to the shared folder, and a scrape adds them all up.
        self.registry = CollectorRegistry()
        multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        own = None if multiprocess_dir else self.registry
        if multiprocess_dir:
            MultiProcessCollector(self.registry, path=multiprocess_dir)
        self.requests = Counter(
            "kbm_gateway_requests",
            "HTTP requests answered by the gateway.",
            ["method", "route", "status"],
            registry=own,
        )
        self.latency = Histogram(
            "kbm_gateway_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=own,
        )
        self.registry.register(QueueDepthCollector(monitor))
        self.registry.register(StateCollector(monitor))

    def exposition(self) -> bytes:
        """Return every metric in the Prometheus text format."""
        return generate_latest(self.registry)


class RequestMetrics:
    """Middleware: count and time every request by method, route template and status."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Note when the request started."""
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        """Record the request once its status is final."""
        route = req.uri_template or UNMATCHED
        # Any token can arrive as a method; unknown ones share a label to bound the series.
        method = req.method if req.method in falcon.COMBINED_METHODS else "OTHER"
        now = time.perf_counter()
        started: float = getattr(req.context, "started", now)
        elapsed = now - started
        self.metrics.requests.labels(method, route, str(resp.status_code)).inc()
        self.metrics.latency.labels(method, route).observe(elapsed)


class MetricsResource:
    """``GET /metrics``: the Prometheus exposition."""

    # Counts and durations, no link, title or token: Prometheus scrapes without one.
    access = Access.OPEN

    uses_database = False

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the metrics in the text format."""
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = self.metrics.exposition()
