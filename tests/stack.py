"""The whole stack as real processes, for the end-to-end and chaos suites.

A page site on loopback (real article pages, plus routes that fail, flap or answer
slowly on demand) and a :class:`Stack` of gateway, worker and scheduler commands that a
test can kill and restart like an orchestrator would.
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

from tests.conftest import SHARED_DATA

PAGES = SHARED_DATA / "pages"
KBM = [sys.executable, "-m", "services.cli.main"]


def worker_argv(service: str, processes: int, threads: int) -> list[str]:
    """Return ``kbm worker SERVICE`` with its own metrics port (one per command per host)."""
    return [
        *KBM, "worker", service, "-p", str(processes), "-t", str(threads),
        "--metrics-port", str(free_port()),
    ]  # fmt: skip


def load_expected() -> dict[str, dict[str, str]]:
    """Return the benchmark's expected article text per page id (skip when absent)."""
    if not (PAGES / "expected.json").exists():
        pytest.skip(f"article pages not found at {PAGES}")
    data: dict[str, dict[str, str]] = json.loads((PAGES / "expected.json").read_text())
    return data


@dataclass
class PageSite:
    """What the page server serves and how often each path was fetched."""

    pages: dict[str, bytes]
    hits: Counter[str] = field(default_factory=Counter)
    broken: set[str] = field(default_factory=set)
    slow_seconds: float = 1.0
    base_url: str = ""
    on_request: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this server."""
        return f"{self.base_url}{path}"


def _handler(site: PageSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            site.hits[self.path] += 1
            path = self.path.split("?")[0]
            hook = site.on_request.get(path)
            if hook is not None:
                hook(self.path)
            if path.startswith("/fail500") or self.path in site.broken:
                self._send(500, b"<html><body>Internal error</body></html>")
            elif path.startswith("/slow/"):
                time.sleep(site.slow_seconds)
                self._send(200, site.pages[path.removeprefix("/slow")])
            elif path.removeprefix("/flaky") in site.pages:
                self._send(200, site.pages[path.removeprefix("/flaky")])
            else:
                self._send(404, b"<html><body>Not found</body></html>")

        def _send(self, status: int, body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker was killed mid-request: that is the point of some tests

    return Handler


@contextlib.contextmanager
def serve_pages(expected: dict[str, dict[str, str]]) -> Iterator[PageSite]:
    """Serve every article page at ``/page/<id>`` on 127.0.0.1."""
    pages = {
        f"/page/{page_id}": gzip.decompress((PAGES / f"{page_id}.html.gz").read_bytes())
        for page_id in expected
    }
    served = PageSite(pages)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """Running gateway, workers and scheduler, each restartable by name."""

    api_url: str
    export_dir: Path
    env: dict[str, str]
    commands: dict[str, list[str]]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str) -> None:
        """Start (or restart) one command, appending to its log."""
        self.processes[name] = subprocess.Popen(
            self.commands[name],
            env=self.env,
            stdout=(self.logs / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def signal(self, name: str, signum: int) -> None:
        """Send a signal to one command's whole process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.processes[name].pid, signum)

    def stop(self, name: str, timeout: float = 30.0) -> None:
        """Stop one command gracefully, killing it after ``timeout``."""
        process = self.processes[name]
        if process.poll() is None:
            self.signal(name, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal(name, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        """Stop every command."""
        for name in list(self.processes):
            if self.processes[name].poll() is None:
                self.signal(name, signal.SIGTERM)
        for name in list(self.processes):
            self.stop(name)

    def http(self) -> httpx.Client:
        """Return an HTTP client of the gateway."""
        return httpx.Client(base_url=self.api_url, timeout=30)

    def wait_for_task(self, task_id: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll a task until it is finished; fail with the logs if it never is.

        A command that exits on its own fails the wait at once: nothing restarts it
        here, so the task could only time out.
        """
        deadline = time.monotonic() + timeout
        task: dict[str, Any] = {}
        with self.http() as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                    task = client.get(f"/api/tasks/history/{task_id}").json()["data"]
                    if task["finished_at"]:
                        return task
                exited = {
                    name: process.returncode
                    for name, process in self.processes.items()
                    if process.poll() is not None
                }
                if exited:
                    pytest.fail(
                        f"{exited} exited while task {task_id} ran: {task}\n{self.tail_logs()}"
                    )
                time.sleep(0.1)
        pytest.fail(f"task {task_id} did not finish in {timeout} s: {task}\n{self.tail_logs()}")

    def tail_logs(self, lines: int = 40) -> str:
        """Return the last lines of every process's log, without the gateway's polls."""
        chunks = []
        for log in sorted(self.logs.glob("*.log")):
            text = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if '"GET /api/' not in line
            ][-lines:]
            chunks.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(chunks)

    def wait_until_healthy(self, timeout: float = 30.0) -> None:
        """Wait for the gateway's health check to pass; fail if a process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    pytest.fail(f"{name} exited with {process.returncode}\n{self.tail_logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/api/monitoring/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"the gateway did not become healthy\n{self.tail_logs()}")


def stack_env(database_url: str, redis_url: str, root: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a test stack: loopback fetching, local AI, Markdown."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
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
        **extra,
    }
    env.pop("API_TOKEN", None)
    return env


@contextlib.contextmanager
def running_stack(
    env: dict[str, str], commands: dict[str, list[str]], root: Path
) -> Iterator[Stack]:
    """Start ``commands`` with ``env``; stop them all afterwards.

    With an ``api`` command, wait for the gateway to be healthy before yielding.
    """
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    stack = Stack(env["API_URL"], root / "export", env, commands, logs)
    for name in commands:
        stack.start(name)
    try:
        if "api" in commands:
            stack.wait_until_healthy()
        yield stack
    finally:
        stack.stop_all()
