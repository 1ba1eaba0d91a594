"""What every benchmark needs: a fresh database, Redis, worker processes, a page server.

Benchmarks print their figures; they never fail on time. Run them with ``make bench``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import redis
from psycopg2 import sql

from services.cli.launch import SERVICES, api_command, worker_command
from shared.broker import build_broker
from shared.db import bind_database, database
from shared.migrations import migrate
from shared.models import Task
from shared.settings import Settings
from shared.tasks import TaskService

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages"
ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def load_pages() -> dict[str, tuple[str, bytes, str]]:
    """Return page id → (original URL, HTML bytes, expected article text)."""
    expected = json.loads((PAGES / "expected.json").read_text())
    return {
        page_id: (
            entry["url"],
            gzip.decompress((PAGES / f"{page_id}.html.gz").read_bytes()),
            entry["articleBody"],
        )
        for page_id, entry in expected.items()
    }


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """Create a migrated PostgreSQL database, bound to the models; drop it afterwards."""
    name = f"kbm_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    bind_database(url)
    migrate()
    try:
        yield url
    finally:
        database.obj.close_all()
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


def flush_redis(url: str = REDIS_URL) -> None:
    """Empty the benchmark's Redis db."""
    redis.Redis.from_url(url).flushdb()


class PageServer:
    """Serve pages at ``/<id>`` from a threaded loopback HTTP server."""

    def __init__(self, pages: dict[str, bytes], delay: float = 0.0) -> None:
        served = pages

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = served.get(self.path.lstrip("/").split("?")[0])
                if delay:
                    time.sleep(delay)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, page_id: str) -> str:
        """Return the URL of a page."""
        return f"{self.base_url}/{page_id}"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of the benchmark's worker processes."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "FETCH_ALLOW_PRIVATE": "1",
        "AI_PROVIDER": "local",
        "PUBLISHER": "markdown",
        "WORKER_POLL_MS": "50",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    # The gateway refuses to start beyond loopback without it, and demands it when set.
    env.pop("API_TOKEN", None)
    return env


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Stop a process started in its own session, with all its children."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    # Children (Dramatiq's worker processes, RQ's work horses) may outlive the leader.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` in its own session for the duration of the block; stop it afterwards.

    Its output goes nowhere unless ``BENCH_LOGS`` is set.
    """
    log = open(os.devnull, "wb") if not os.environ.get("BENCH_LOGS") else None  # noqa: SIM115
    try:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            yield process
        finally:
            stop_process(process)
    finally:
        if log:
            log.close()


def metrics_env() -> dict[str, str]:
    """Return a worker command's own Prometheus port and folder (9191 is per host)."""
    return {
        "dramatiq_prom_port": str(free_port()),
        "dramatiq_prom_db": tempfile.mkdtemp(prefix="kbm-bench-prom-"),
    }


@contextlib.contextmanager
def workers(
    service: str,
    env: dict[str, str],
    *,
    processes: int = 1,
    threads: int = 4,
    module: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``kbm worker SERVICE`` for the duration of the block.

    With ``module``, the same ``dramatiq shared.broker:setup …`` command (same queue,
    options and middleware) loads that module's actors instead of the service's.
    """
    env = {**env, **metrics_env()}
    if module is None:
        argv = [sys.executable, "-m", "services.cli.main", "worker", service]
        argv += ["--processes", str(processes), "--threads", str(threads)]
        argv += ["--metrics-port", env["dramatiq_prom_port"]]
    else:
        settings = Settings.from_env(worker_poll_ms=int(env.get("WORKER_POLL_MS", "50")))
        command = worker_command(
            service,
            settings,
            processes=processes,
            threads=threads,
            metrics_port=int(env["dramatiq_prom_port"]),
        )
        argv = [module if arg == SERVICES[service][1] else arg for arg in command.argv]
        env |= command.env
    known = heartbeat_ids()
    with running(argv, env) as process:
        wait_for_workers(processes, known, process)
        yield process


@contextlib.contextmanager
def dramatiq_workers(
    module: str, queues: list[str], env: dict[str, str], *, processes: int = 1, threads: int = 4
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a plain ``dramatiq MODULE --queues …`` command (no project set-up)."""
    argv = [sys.executable, "-m", "dramatiq", module, "--queues", *queues]
    argv += ["--processes", str(processes), "--threads", str(threads)]
    env = {
        **env,
        **metrics_env(),
        "dramatiq_worker_timeout": env.get("WORKER_POLL_MS", "50"),
    }
    known = heartbeat_ids()
    with running(argv, env) as process:
        wait_for_workers(processes, known, process)
        yield process


def heartbeat_ids() -> set[str]:
    """Return the Dramatiq broker ids that sent a heartbeat to the benchmark's Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    members = client.zrange("dramatiq:__heartbeats__", 0, -1)
    return {str(member) for member in members}


def wait_for_workers(
    processes: int,
    known: set[str] | None = None,
    command: subprocess.Popen[bytes] | None = None,
    timeout: float = 60.0,
) -> None:
    """Wait until ``processes`` new worker processes are consuming (heartbeats in Redis)."""
    known = known or set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if command is not None and command.poll() is not None:
            raise RuntimeError(f"worker command exited with {command.returncode}")
        if len(heartbeat_ids() - known) >= processes:
            return
        time.sleep(0.1)
    raise RuntimeError(f"worker processes did not start consuming within {timeout:g} s")


@contextlib.contextmanager
def gateway(
    env: dict[str, str],
    *,
    app: str | None = None,
    processes: int | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """Run the gateway under gunicorn with its production configuration; yield its URL.

    ``app`` serves another app with the same configuration (a baseline); ``extra_args``
    change the configuration (another worker class, to compare).
    Per-client request budgets are lifted: the load generator is one client.
    """
    port = free_port()
    env = {
        "API_RATE_LIMIT": "1000000",
        "API_RATE_BURST": "1000000",
        "API_MAX_OPEN_TASKS": "100000",
        **env,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="kbm-bench-gateway-"),
    }
    settings = Settings.from_env(api_host="127.0.0.1", api_port=port)
    argv = api_command(settings, workers=processes).argv + list(extra_args)
    if app is not None:
        argv.append(app)
    url = f"http://127.0.0.1:{port}"
    with running(argv, env) as process:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/monitoring/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not answer within 30 s")
            time.sleep(0.1)
        yield url


def percentile(values: list[float], share: float) -> float:
    """Return the ``share`` (0 to 1) percentile of ``values``, by the nearest rank."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def task_service(database_url: str) -> TaskService:
    """Return a task service sending to the benchmark's Redis."""
    settings = Settings.from_env(database_url=database_url, redis_url=REDIS_URL)
    return TaskService(build_broker(settings), max_urls=1_000_000)


def wait_for_task(task_id: int, timeout: float = 600.0) -> Task:
    """Poll the database until the task has finished; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.connection_context():
            task = Task.get_by_id(task_id)
        if task.finished_at is not None:
            return task
        time.sleep(0.05)
    raise RuntimeError(f"task {task_id} did not finish within {timeout} s")


def report(title: str, rows: list[tuple[str, str]]) -> None:
    """Print a benchmark's figures as an aligned block."""
    print(f"\n== {title}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")


def table(
    title: str, rows: list[tuple[str, str, str, str, str]], notes: list[str] | None = None
) -> None:
    """Print a benchmark's figures as a table: figure, measured, baseline, ratio, target."""
    header = ("figure", "measured", "baseline", "ratio", "target")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(5)]
    print(f"\n== {title}")
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for note in notes or []:
        print(f"  {note}")
    sys.stdout.flush()
