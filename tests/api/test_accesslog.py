"""gunicorn's access log, with the gateway's logger class, never shows a credential."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3tvalue"
#: Every atom a format could ask for that might carry a credential.
FORMAT = (
    '%(h)s %(u)s "%(r)s" %(s)s q=%(q)s U=%(U)s f="%(f)s" '
    'auth="%({authorization}i)s" env_auth="%({http_authorization}e)s" '
    'key="%({x-api-key}i)s" cookie="%({cookie}i)s" raw="%({raw_uri}e)s"'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def gunicorn() -> Iterator[tuple[str, Callable[[], str]]]:
    """Run gunicorn with the redacting logger; return its URL and a log reader.

    The reader stops gunicorn and returns everything its access log wrote.
    """
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--logger-class",
            "services.api.accesslog.RedactingLogger",
            "--access-logfile",
            "-",
            "--access-logformat",
            FORMAT,
            "tests.api.tiny_wsgi:app",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/ready", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"gunicorn did not start: {process.communicate()[1]}") from None
            time.sleep(0.1)

    def stop_and_read() -> str:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
        return out

    yield url, stop_and_read
    if process.poll() is None:
        process.kill()
        process.wait()


def _raw_request(url: str, target: str) -> bytes:
    """Send a request line httpx never sends (absolute form, userinfo); return the reply."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        return sock.recv(1024)


def test_access_log_redacts_credentials_and_keeps_the_request(
    gunicorn: tuple[str, Callable[[], str]],
) -> None:
    url, stop_and_read = gunicorn
    basic = base64.b64encode(f"{SECRET}:".encode()).decode()

    with httpx.Client(base_url=url) as client:
        assert client.get(f"/api/tasks?token={SECRET}&page=2").status_code == 401
        client.get(f"/api/one?access_token={SECRET}")
        client.get(f"/api/two?api_token={SECRET}&X%2DApi%2DKey={SECRET}")
        client.get(f"/api/three?key={SECRET}", headers={"Authorization": f"Bearer {SECRET}"})
        client.get(
            "/api/four",
            headers={
                "Authorization": f"Basic {basic}",
                "X-Api-Key": SECRET,
                "Cookie": f"session={SECRET}",
                "Referer": f"http://someone:{SECRET}@site.example/page?client_secret={SECRET}",
            },
        )
    reply = _raw_request(url, f"http://someone:{SECRET}@127.0.0.1/api/five?password={SECRET}")
    assert reply.startswith(b"HTTP/1.1 200")
    log = stop_and_read()

    lines = [line for line in log.splitlines() if "/api/" in line]
    assert len(lines) == 6, log
    assert SECRET not in log
    assert '"GET /api/tasks?token=REDACTED&page=2 HTTP/1.1" 401' in log
    assert "q=token=REDACTED&page=2 U=/api/tasks" in log
    assert "/api/one?access_token=REDACTED" in log
    assert "/api/two?api_token=REDACTED&X%2DApi%2DKey=REDACTED" in log
    assert 'auth="REDACTED" env_auth="REDACTED"' in lines[3]
    assert 'key="REDACTED" cookie="REDACTED"' in lines[4]
    assert 'f="http://site.example/page?client_secret=REDACTED"' in lines[4]
    assert '"GET http://127.0.0.1/api/five?password=REDACTED HTTP/1.1" 200' in lines[5]


def test_access_log_without_credentials_is_unchanged(
    gunicorn: tuple[str, Callable[[], str]],
) -> None:
    url, stop_and_read = gunicorn

    httpx.get(f"{url}/api/tasks/7?page=2&q=monkey%40home", headers={"Referer": "http://a.example/"})
    log = stop_and_read()

    assert '"GET /api/tasks/7?page=2&q=monkey%40home HTTP/1.1" 200' in log
    assert 'f="http://a.example/"' in log
