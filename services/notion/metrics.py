"""Prometheus metrics of the notion service: requests to Notion by status, and throttling.

``kbm_notion_requests_total{status}`` counts every request sent (status is the HTTP
status, or ``timeout`` / ``connection_error``); ``kbm_notion_rate_limited_total{reason}``
counts the 429 and 529 answers that made every worker wait, by the limit they name:
``connection`` (the integration's), ``workspace`` (shared by every integration of the
workspace), ``overload`` (a 529 ``service_overload``) or ``other``. The Dramatiq Prometheus exporter
serves them. ``prometheus_client`` picks its multiprocess mode when first imported, so
it is imported on the first request (after the worker process booted), never at import.
"""

from __future__ import annotations

import threading
from typing import Any

#: The limits a 429 or 529 names, as ``kbm_notion_rate_limited_total`` counts them.
REASONS = ("connection", "workspace", "overload", "other")
_lock = threading.Lock()
_counters: dict[str, Any] = {}


def _counter(name: str) -> Any:
    with _lock:
        if not _counters:
            import prometheus_client as prom

            _counters["requests"] = prom.Counter(
                "kbm_notion_requests",
                "Requests sent to the Notion API, by HTTP status (or timeout, connection_error).",
                ["status"],
            )
            limited = prom.Counter(
                "kbm_notion_rate_limited",
                "Notion answers 429 rate_limited or 529 service_overload (every worker waited), "
                "by reason: connection, workspace, overload, other.",
                ["reason"],
            )
            # Every reason's series exists from the first request on, at 0: a rate over
            # them is 0, not "no data", while Notion never throttles.
            for reason in REASONS:
                limited.labels(reason)
            _counters["rate_limited"] = limited
        return _counters[name]


def record_request(status: str) -> None:
    """Count one request to Notion and how it was answered."""
    _counter("requests").labels(status).inc()


def record_rate_limited(reason: str = "connection") -> None:
    """Count one 429 or 529 answer, by the limit it names."""
    _counter("rate_limited").labels(reason).inc()
