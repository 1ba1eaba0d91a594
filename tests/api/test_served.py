"""The gateway as gunicorn serves it: paths as sent on the wire, and clients that stall.

Falcon's test client builds the WSGI environ itself; these requests go through gunicorn's
own parsing (percent-decoding, doubled slashes) to the production configuration.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from shared.settings import Settings
from tests.api.test_app import CONF, _free_port

TOKEN = "served-token"
SLOW_CLIENTS = 50


def _start_gateway(
    settings: Settings, tmp_path: Path, extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the gateway under gunicorn with its configuration and a token; wait for it."""
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:  # a pipe nobody reads would fill and block
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONF)],
            env={
                **{k: v for k, v in os.environ.items() if k != "API_TOKEN"},
                "API_HOST": "127.0.0.1",
                "API_PORT": str(port),
                "API_TOKEN": TOKEN,
                "GUNICORN_WORKERS": "2",
                "DATABASE_URL": settings.database_url,
                "REDIS_URL": settings.redis_url,
                # One test client sends them all: the budget is another test's subject.
                "API_RATE_LIMIT": "100000",
                "API_RATE_BURST": "100000",
                **extra,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise AssertionError(log_path.read_text())
        try:
            if httpx.get(f"{url}/api/monitoring/health", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            _stop(process)
            raise AssertionError("the gateway did not start")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=40)


@pytest.fixture()
def served(settings: Settings, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Run the gateway under gunicorn with its configuration and a token; yield its URL.

    A test may add gunicorn arguments with ``@pytest.mark.parametrize("gunicorn_args", …)``.
    """
    extra = {"GUNICORN_CMD_ARGS": getattr(request, "param", "")}
    process, url = _start_gateway(settings, tmp_path, extra)
    try:
        yield url
    finally:
        _stop(process)


def test_the_gateway_removes_the_metrics_folder_it_made_and_no_other(
    settings: Settings, tmp_path: Path
) -> None:
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    environment = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "environ", environment)
        process, _ = _start_gateway(settings, tmp_path, {"TMPDIR": str(own_tmp)})
        made = list(own_tmp.glob("kbm-gateway-metrics-*"))
        _stop(process)
        given = tmp_path / "given-metrics"
        given.mkdir()
        process, _ = _start_gateway(settings, tmp_path, {"PROMETHEUS_MULTIPROC_DIR": str(given)})
        _stop(process)
    assert len(made) == 1 and not made[0].exists()
    assert given.is_dir()


def _raw(url: str, method: str, target: str, body: bytes | None = None) -> int:
    """Send ``target`` exactly as written (no client normalises it); return the status."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, target, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("GET", "//api/tasks/history?limit=1", None),
        ("GET", "///api/tasks/history", None),
        ("GET", "/api//tasks/history", None),
        ("GET", "/api%2Ftasks%2Fhistory", None),
        ("GET", "/%61pi/tasks/history", None),
        ("POST", "//api/pipeline", b'{"urls": ["https://x.example/a"]}'),
        ("DELETE", "//api/feeds/1", None),
        ("POST", "//api/monitoring/dead-letters/requeue", b'{"all": true}'),
        ("GET", "//api/monitoring/dead-letters", None),
        ("GET", "/api/tasks/history/%D9%A1", None),
    ],
)
def test_no_spelling_of_a_path_reaches_a_resource_without_the_token(
    served: str, method: str, target: str, body: bytes | None
) -> None:
    assert _raw(served, method, target, body) in (401, 404)


def test_the_token_still_opens_the_routes(served: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    created = httpx.post(
        f"{served}/api/pipeline", json={"urls": ["https://x.example/a"]}, headers=auth
    )
    assert created.status_code == 202
    assert httpx.get(f"{served}/api/tasks/history/1", headers=auth).status_code == 200
    # Without it, nothing was created by the attempts of the walk above.
    assert httpx.get(f"{served}/api/tasks/history", headers=auth).json()["data"]["total"] == 1


def test_stalled_clients_hold_no_worker_while_others_are_answered(served: str) -> None:
    host, port = served.removeprefix("http://").split(":")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    task = httpx.post(
        f"{served}/api/pipeline", json={"urls": ["https://x.example/a"]}, headers=auth
    ).json()["data"]["task_id"]
    with ExitStack() as stack:
        for n in range(SLOW_CLIENTS):
            sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
            if n % 2:  # headers never finished
                sock.sendall(b"GET /api/monitoring/health HTTP/1.1\r\nHost: localhost\r\nX-A: ")
            else:  # a body announced and never sent
                sock.sendall(
                    b"POST /api/pipeline HTTP/1.1\r\nHost: localhost\r\n"
                    b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                    b'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"urls"'
                )
        time.sleep(0.5)  # every stalled request has reached a worker
        # A sync worker would answer none of these until the stalled clients gave up; the
        # timing itself is measured by bench/bench_gateway.py.
        with httpx.Client(base_url=served, timeout=20) as client:
            for _ in range(5):
                assert client.get("/api/monitoring/health").status_code == 200
                status = client.get(f"/api/tasks/history/{task}", headers=auth)
                assert status.status_code == 200
                assert status.json()["data"]["id"] == task


@pytest.mark.parametrize("served", ["--max-requests 25"], indirect=True)
def test_workers_restarting_under_load_lose_no_request(served: str) -> None:
    failures: list[str] = []

    def client() -> None:
        # One kept-alive client each, as the CLI and dashboards are.
        with httpx.Client(base_url=served, timeout=20) as http:
            for _ in range(100):
                try:
                    http.get("/api/monitoring/health").raise_for_status()
                except httpx.HTTPError as ex:
                    failures.append(repr(ex))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 800 requests: each of the two workers restarted about 16 times meanwhile.
    assert failures == []
