"""What every benchmark needs: a fresh database, Redis, worker processes, a page server.

Benchmarks print their figures; they never fail on time. Run them with ``make bench``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg2
import redis
from psycopg2 import sql

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
    return {
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


@contextlib.contextmanager
def workers(
    service: str, env: dict[str, str], *, processes: int = 1, threads: int = 4
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``kbm worker SERVICE`` for the duration of the block."""
    argv = [sys.executable, "-m", "services.cli.main", "worker", service]
    argv += ["--processes", str(processes), "--threads", str(threads)]
    log = open(os.devnull, "wb") if not os.environ.get("BENCH_LOGS") else None  # noqa: SIM115
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_for_workers(processes * threads)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if log:
            log.close()


def wait_for_workers(expected_threads: int, timeout: float = 30.0) -> None:
    """Wait until worker processes are consuming (their heartbeats reach Redis)."""
    client = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.zcard("dramatiq:__heartbeats__") >= 1:
            time.sleep(0.5)  # the remaining processes boot within the same moment
            return
        time.sleep(0.1)
    raise RuntimeError("worker processes did not start consuming within 30 s")


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
