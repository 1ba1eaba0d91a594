"""The gateway's worker accepts only while it is free: a busy process leaves connections
to the others, and clients that stall hold nothing."""

from __future__ import annotations

import asyncio
import os
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

from services.api.asgi import WholeRequests
from services.api.worker import Gate
from tests.api.test_app import CONF, _free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def pid_gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Serve :func:`tests.api.tiny_wsgi.pid_app` with the gateway's configuration.

    2 processes, unless a test asks for others with ``indirect`` parametrisation:
    ``(processes, extra gunicorn arguments)``.
    """
    processes, extra = getattr(request, "param", (2, ""))
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONF), "tests.api.tiny_wsgi:asgi_pid_app"],
            cwd=ROOT,
            env={
                **{
                    k: v for k, v in os.environ.items() if k not in ("API_TOKEN", "XDG_RUNTIME_DIR")
                },
                # A home of its own: what the gateway writes there is the test's to see.
                "HOME": str(tmp_path / "home"),
                "PYTHONPATH": str(ROOT),
                "API_HOST": "127.0.0.1",
                "API_PORT": str(port),
                "GUNICORN_WORKERS": str(processes),
                "GUNICORN_CMD_ARGS": extra,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        pids: set[str] = set()
        while len(pids) < processes:  # every process answers before the test starts
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the gateway did not start\n" + log_path.read_text()
            try:
                pids.add(httpx.get(url, timeout=2).text)
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=40)


def _get(url: str, into: list[tuple[str, float]]) -> None:
    started = time.monotonic()
    answer = httpx.get(url, timeout=20)
    answer.raise_for_status()
    into.append((answer.text, time.monotonic() - started))


def _in_threads(*urls: str) -> tuple[list[threading.Thread], list[tuple[str, float]]]:
    answers: list[tuple[str, float]] = []
    threads = [threading.Thread(target=_get, args=(url, answers)) for url in urls]
    for thread in threads:
        thread.start()
    return threads, answers


def test_the_gateway_opens_no_control_socket(pid_gateway: str, tmp_path: Path) -> None:
    # gunicorn's is one per user ($HOME/.gunicorn/gunicorn.ctl), shared by every gateway
    # of the host and removed by whichever stops first: the gateway does without it.
    assert httpx.get(pid_gateway).status_code == 200
    assert not list((tmp_path / "home").rglob("*.ctl"))


def test_a_busy_process_leaves_new_connections_to_a_free_one(pid_gateway: str) -> None:
    started = time.monotonic()
    holder, held = _in_threads(f"{pid_gateway}/hold?seconds=2")
    time.sleep(0.3)  # its process is busy until 2 s
    quick: list[tuple[str, float]] = []
    while time.monotonic() < started + 1.5:  # every quick request is sent while it holds
        _get(pid_gateway, quick)
    holder[0].join()

    busy_pid = held[0][0]
    # Had the busy process accepted one of them, it would have answered after the hold.
    assert busy_pid not in {pid for pid, _ in quick}
    assert len(quick) > 5


def test_waiting_connections_go_to_whichever_process_is_free_first(pid_gateway: str) -> None:
    """Both processes busy, ten requests wait: the first process to be free takes one at a
    time, so the second takes its share when it is free (an event loop that accepted every
    waiting connection at once would leave it none, and each request waiting longer)."""
    holders, _ = _in_threads(f"{pid_gateway}/hold?seconds=1.5", f"{pid_gateway}/hold?seconds=1.8")
    time.sleep(0.5)
    waiting, answers = _in_threads(*[f"{pid_gateway}/hold?seconds=0.2"] * 10)
    for thread in holders + waiting:
        thread.join()

    assert len(answers) == 10
    assert len({pid for pid, _ in answers}) == 2


@pytest.mark.parametrize("pid_gateway", [(1, "--worker-connections 5")], indirect=True)
def test_a_process_holding_worker_connections_accepts_no_more_until_one_closes(
    pid_gateway: str,
) -> None:
    host, port = pid_gateway.removeprefix("http://").split(":")
    with ExitStack() as stack:
        stalled = [
            stack.enter_context(socket.create_connection((host, int(port)), timeout=5))
            for _ in range(5)
        ]
        for sock in stalled:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        time.sleep(0.5)
        with pytest.raises(httpx.TimeoutException):
            httpx.get(pid_gateway, timeout=1.0)  # waits in the listening socket
        stalled[0].close()
        assert httpx.get(pid_gateway, timeout=5).status_code == 200


def test_a_gate_has_room_below_its_limit() -> None:
    async def scenario() -> list[bool]:
        gate = Gate(2)
        seen = []
        gate.enter()
        seen.append(await _has_room(gate))
        gate.enter()
        seen.append(await _has_room(gate))
        waiter = asyncio.ensure_future(gate.room())
        await asyncio.sleep(0)
        seen.append(waiter.done())
        gate.leave()
        await asyncio.wait_for(waiter, 1)
        seen.append(waiter.done())
        return seen

    assert asyncio.run(scenario()) == [True, False, False, True]


def test_a_gate_needs_room_for_one_request() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Gate(0)


async def _has_room(gate: Gate) -> bool:
    try:
        await asyncio.wait_for(gate.room(), 0.05)
        return True
    except TimeoutError:
        return False


def _call(app: WholeRequests, messages: list[dict[str, object]]) -> list[dict[str, object]]:
    """Run one request through ``app``; return what it sent."""
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "http_version": "1.1",
        "headers": [(b"content-type", b"text/plain")],
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return sent


def test_the_app_sees_the_whole_body_and_its_chunks_are_sent_in_order() -> None:
    def echo(environ: dict[str, object], start_response: object) -> Iterator[bytes]:
        body = environ["wsgi.input"].read()  # type: ignore[attr-defined]
        start_response("201 Created", [("Content-Type", "text/plain")])  # type: ignore[operator]
        yield b""
        yield body
        yield b"!"

    gate = Gate(1)
    sent = _call(
        WholeRequests(echo, 100, gate),
        [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"cd", "more_body": False},
        ],
    )

    assert sent[0] == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"text/plain")],
    }
    assert [m["body"] for m in sent[1:]] == [b"abcd", b"!", b""]
    assert [m["more_body"] for m in sent[1:]] == [True, True, False]
    assert gate.running == 0


def test_a_body_over_the_limit_reaches_the_app_one_byte_too_long() -> None:
    seen: list[int] = []

    def measure(environ: dict[str, object], start_response: object) -> list[bytes]:
        seen.append(len(environ["wsgi.input"].read()))  # type: ignore[attr-defined]
        start_response("413 Content Too Large", [])  # type: ignore[operator]
        return []

    sent = _call(
        WholeRequests(measure, 4, Gate(1)),
        [{"type": "http.request", "body": b"x" * 3, "more_body": True}] * 3,
    )

    assert seen == [5]
    assert sent[0]["status"] == 413


def test_a_client_that_leaves_before_its_body_ends_gets_no_answer() -> None:
    called: list[bool] = []

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        called.append(True)
        return []

    sent = _call(
        WholeRequests(app, 100, Gate(1)),
        [{"type": "http.request", "body": b"a", "more_body": True}],
    )

    assert (sent, called) == ([], [])
