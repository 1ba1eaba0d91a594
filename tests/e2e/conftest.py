"""The whole stack as real processes: gunicorn gateway and one Dramatiq command per service.

Pages come from a loopback HTTP server: real article pages from ``../shared/data/pages``,
plus routes that fail, flap or answer slowly on demand.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REDIS_URL, SHARED_DATA

PAGES = SHARED_DATA / "pages"


@dataclass
class PageSite:
    """What the page server serves and how often each path was fetched."""

    pages: dict[str, bytes]
    hits: Counter[str] = field(default_factory=Counter)
    broken: set[str] = field(default_factory=set)
    slow_seconds: float = 1.0
    base_url: str = ""

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this server."""
        return f"{self.base_url}{path}"


def _handler(site: PageSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            site.hits[self.path] += 1
            if self.path.startswith("/fail500") or self.path in site.broken:
                self._send(500, b"<html><body>Internal error</body></html>")
            elif self.path.startswith("/slow/"):
                time.sleep(site.slow_seconds)
                self._send(200, site.pages[self.path.removeprefix("/slow")])
            elif self.path.removeprefix("/flaky") in site.pages:
                self._send(200, site.pages[self.path.removeprefix("/flaky")])
            else:
                self._send(404, b"<html><body>Not found</body></html>")

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture(scope="session")
def expected_pages() -> dict[str, dict[str, str]]:
    """Return the benchmark's expected article text per page id."""
    if not (PAGES / "expected.json").exists():
        pytest.skip(f"article pages not found at {PAGES}")
    data: dict[str, dict[str, str]] = json.loads((PAGES / "expected.json").read_text())
    return data


@pytest.fixture(scope="session")
def site(expected_pages: dict[str, dict[str, str]]) -> Iterator[PageSite]:
    """Serve every article page at ``/page/<id>`` on 127.0.0.1."""
    pages = {
        f"/page/{page_id}": gzip.decompress((PAGES / f"{page_id}.html.gz").read_bytes())
        for page_id in expected_pages
    }
    served = PageSite(pages)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """The running gateway and workers, and where to reach them."""

    api_url: str
    export_dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    logs: Path

    def http(self) -> httpx.Client:
        """Return an HTTP client of the gateway."""
        return httpx.Client(base_url=self.api_url, timeout=30)

    def wait_for_task(self, task_id: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll a task until it is finished; fail with the workers' logs if it never is."""
        deadline = time.monotonic() + timeout
        with self.http() as client:
            while time.monotonic() < deadline:
                task: dict[str, Any] = client.get(f"/api/tasks/history/{task_id}").json()["data"]
                if task["finished_at"]:
                    return task
                time.sleep(0.1)
        pytest.fail(f"task {task_id} did not finish in {timeout} s: {task}\n{self.tail_logs()}")

    def tail_logs(self, lines: int = 40) -> str:
        """Return the last lines of every process's log."""
        chunks = []
        for log in sorted(self.logs.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            chunks.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(chunks)


def _wait_until_healthy(stack: Stack, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in stack.processes.items():
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}\n{stack.tail_logs()}")
        try:
            if httpx.get(f"{stack.api_url}/api/monitoring/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the gateway did not become healthy\n{stack.tail_logs()}")


@pytest.fixture(scope="session")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the gateway under gunicorn and parser, ai and notion worker processes."""
    root = tmp_path_factory.mktemp("stack")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "API_URL": f"http://127.0.0.1:{port}",
        "FETCH_ALLOW_PRIVATE": "1",
        "RETRY_DELAYS": "0,0.2,0.4",
        "EXPORT_DIR": str(root / "export"),
        "AI_PROVIDER": "local",
        "PUBLISHER": "markdown",
        "WORKER_POLL_MS": "50",
        "RECONCILE_GRACE": "1",
        "GUNICORN_WORKERS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("API_TOKEN", None)
    kbm = [sys.executable, "-m", "services.cli.main"]
    commands = {
        "api": [*kbm, "api"],
        "parser": [*kbm, "worker", "parser", "--processes", "1", "--threads", "4"],
        "ai": [*kbm, "worker", "ai", "--processes", "1", "--threads", "2"],
        "notion": [*kbm, "worker", "notion", "--processes", "1", "--threads", "2"],
    }
    logs = root / "logs"
    logs.mkdir()
    processes = {
        name: subprocess.Popen(
            argv,
            env=env,
            stdout=(logs / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, argv in commands.items()
    }
    running = Stack(f"http://127.0.0.1:{port}", root / "export", env, processes, logs)
    try:
        _wait_until_healthy(running)
        yield running
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
