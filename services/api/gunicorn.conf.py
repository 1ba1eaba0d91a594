"""gunicorn settings of the gateway: ``gunicorn -c services/api/gunicorn.conf.py``.

Bind from ``API_HOST``/``API_PORT``, ``GUNICORN_WORKERS`` worker processes (default 2), and
a refusal to start when the gateway would be reachable beyond loopback without
``API_TOKEN``. Each worker reads connections on an asyncio loop
(:class:`services.api.worker.GatedASGIWorker`, gunicorn's ``asgi`` worker accepting only
while it is free) and answers complete requests one at a time (:mod:`services.api.asgi`):
clients that never finish a request cost a buffer, not a worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

# Every gunicorn worker process counts requests on its own: prometheus_client's
# multiprocess mode adds them up at scrape time. It is chosen when prometheus_client is
# first imported, so the folder is set before the app (and its metrics) are imported.
# A folder made here is removed when the gateway stops (on_exit); one given is left alone.
_made_metrics_dir: str | None = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_metrics_dir = tempfile.mkdtemp(prefix="kbm-gateway-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_metrics_dir

from prometheus_client import multiprocess  # noqa: E402 (after the folder is set)

from services.api.app import configured_token, refuse_open_bind  # noqa: E402 (after the folder is set)
from shared.errors import ConfigurationError  # noqa: E402 (after the folder is set)
from shared.logs import configure_logging  # noqa: E402 (after the folder is set)
from shared.settings import Settings  # noqa: E402 (after the folder is set)

_settings = Settings.from_env()
# The app's own loggers (gunicorn configures only its own): the workers inherit it.
configure_logging(_settings.log_level)
_host = _settings.api_host
_host = f"[{_host}]" if ":" in _host and not _host.startswith("[") else _host

wsgi_app = "services.api.asgi:create_asgi_app()"
bind = [f"{_host}:{_settings.api_port}"]
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "services.api.worker.GatedASGIWorker"
# The app has no start-up or shutdown hooks to run.
asgi_lifespan = "off"
# gunicorn's control socket ($HOME/.gunicorn/gunicorn.ctl) is one per user, shared by every
# gateway of the host and removed by whichever stops first; nothing here uses it.
control_socket_disable = True
# Connections one worker holds open at once (idle or unfinished ones included).
worker_connections = 1000
# Every response closes its connection, as the sync workers' did: a worker that restarts
# (max_requests) would otherwise close kept-alive connections under a client's next request.
keepalive = 0

timeout = 30
graceful_timeout = 30
# Recycle workers now and then so a slow leak never grows; jitter keeps them from
# restarting all at once.
max_requests = 20000
max_requests_jitter = 2000
# Behind a reverse proxy, trust its X-Forwarded-* headers only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
# Credentials in the query string, URLs and headers never reach the access log.
logger_class = "services.api.accesslog.RedactingLogger"
errorlog = "-"


def _host_of(address: str) -> str:
    if address.startswith(("unix:", "fd://")):
        return "unix:"
    host, _, _ = address.rpartition(":")
    return host or address


def on_starting(server: Any) -> None:
    """Refuse to start when any bind address is beyond loopback and no token is set.

    The check reads the addresses gunicorn will really bind, so a ``--bind`` on the
    command line cannot slip past it.
    """
    try:
        for address in server.cfg.bind:
            refuse_open_bind(_host_of(address), configured_token(_settings) is not None)
    except ConfigurationError as ex:
        raise SystemExit(f"gateway: {ex}") from None


def child_exit(server: Any, worker: Any) -> None:
    """Drop a finished worker's live gauges from the shared metrics."""
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metrics folder made for this gateway (never one it was given)."""
    if _made_metrics_dir is not None:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)
