"""deploy/probe.py, run as the orchestrators run it, against real Redis and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tools import DEPLOY
from tests.stack import free_port

PROBE = DEPLOY / "probe.py"


def probe(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the probe with ``env`` added to this environment."""
    return subprocess.run(
        [sys.executable, str(PROBE), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture()
def sleeper() -> Iterator[str]:
    """Run a process with a unique word in its command line; return the word."""
    word = f"kbm-probe-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", word])
    yield word
    process.kill()
    process.wait()


@pytest.fixture()
def http_server() -> Iterator[str]:
    """Serve 200 on /ok and 503 on anything else; return the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ok" else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_alive_passes_while_a_process_runs_the_named_program(sleeper: str) -> None:
    result = probe("alive", sleeper)
    assert result.returncode == 0, result.stderr
    assert sleeper in result.stdout


def test_alive_fails_when_no_process_runs_the_named_program() -> None:
    result = probe("alive", f"no-such-program-{uuid.uuid4().hex}")
    assert result.returncode == 1
    assert "no live process" in result.stderr


def test_ready_passes_with_redis_a_migrated_database_and_no_pending_migration(
    database_url: str, redis_url: str
) -> None:
    result = probe("ready", DATABASE_URL=database_url, REDIS_URL=redis_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ready:")


def test_ready_names_every_part_that_is_down(database_url: str) -> None:
    dead = free_port()
    result = probe(
        "ready",
        DATABASE_URL=database_url.replace(":5432/", f":{dead}/"),
        REDIS_URL=f"redis://127.0.0.1:{dead}/0",
    )
    assert result.returncode == 1
    assert "not ready: redis (ConnectionError), database (OperationalError)" in result.stderr


def test_ready_fails_while_migrations_are_pending(redis_url: str, tmp_path: Path) -> None:
    result = probe(
        "ready", DATABASE_URL=f"sqlite:///{tmp_path / 'new.sqlite3'}", REDIS_URL=redis_url
    )
    assert result.returncode == 1
    assert "migrations (pending" in result.stderr
    assert "run kbm migrate" in result.stderr


def test_ready_reports_a_misconfiguration_in_one_line(redis_url: str) -> None:
    result = probe("ready", DATABASE_URL="mysql://nope", REDIS_URL=redis_url)
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stderr


def test_http_passes_on_a_2xx_answer_and_fails_otherwise(http_server: str) -> None:
    assert probe("http", f"{http_server}/ok").returncode == 0
    failed = probe("http", f"{http_server}/health")
    assert failed.returncode == 1
    assert "answered 503" in failed.stderr
    assert probe("http", f"http://127.0.0.1:{free_port()}/").returncode == 1


def test_an_unknown_probe_prints_the_usage() -> None:
    result = probe("sideways")
    assert result.returncode == 2
    assert "usage:" in result.stderr
