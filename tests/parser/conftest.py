"""Parser fixtures: real loopback HTTP sites, a canary, and a network that stays on loopback.

The canary is a loopback site that must never receive a request while the guard is
on. :class:`LoopbackNetwork` is the socket layer under the guard in SSRF tests: it
connects for real only to 127.0.0.1, maps chosen public addresses to loopback ports
(so a "public" site can redirect inwards), and refuses anything else, so that a
broken guard still sends no traffic beyond this machine.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import pytest

from services.parser.addresses import IPAddress

#: A public address (example.com's) that tests map to a loopback site; never contacted.
PUBLIC_ADDRESS = "93.184.215.14"


@dataclass
class Page:
    """How the site answers one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before the status line: makes the client's read time out.
    delay: float = 0.0
    # Seconds between body bytes: keeps each read short while the whole body is slow.
    trickle: float = 0.0
    # Send Content-Length (otherwise the body ends when the connection closes).
    content_length: bool = True


class LoopbackSite:
    """A ThreadingHTTPServer on 127.0.0.1 serving declared pages."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.hits: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A client that gave up leaves a broken pipe behind; that is expected here.
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        # A short poll interval keeps shutdown (once per test) fast.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def add(self, path: str, body: bytes | str = b"", **options: Any) -> str:
        """Declare the answer for ``path`` and return its URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        options.setdefault("headers", {"Content-Type": "text/html; charset=utf-8"})
        self.pages[path] = Page(body=data, **options)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits.append(self.path)
                page = site.pages.get(self.path, Page(status=404, body=b"not found"))
                time.sleep(page.delay)
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                if page.content_length:
                    self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                if page.trickle:
                    for index in range(len(page.body)):
                        self.wfile.write(page.body[index : index + 1])
                        self.wfile.flush()
                        time.sleep(page.trickle)
                else:
                    self.wfile.write(page.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture()
def site() -> Iterator[LoopbackSite]:
    """Serve a fresh loopback site for one test."""
    loopback = LoopbackSite()
    loopback.thread.start()
    yield loopback
    loopback.server.shutdown()
    loopback.server.server_close()


@pytest.fixture()
def canary() -> Iterator[LoopbackSite]:
    """Serve a loopback site that tests with the guard on expect to stay untouched."""
    loopback = LoopbackSite()
    loopback.add("/", "<html><body><p>canary</p></body></html>")
    loopback.thread.start()
    yield loopback
    loopback.server.shutdown()
    loopback.server.server_close()


class LoopbackNetwork(httpcore.NetworkBackend):
    """Open sockets to 127.0.0.1 only; other addresses are mapped to a loopback port or refused."""

    def __init__(self, routes: dict[str, int] | None = None) -> None:
        self.routes = routes or {}
        self.connections: list[tuple[str, int]] = []
        self.real = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.connections.append((host, port))
        if host in self.routes:
            return self.real.connect_tcp("127.0.0.1", self.routes[host], timeout=timeout)
        if host == "127.0.0.1":
            return self.real.connect_tcp(host, port, timeout=timeout)
        raise httpcore.ConnectError(f"test network: {host} is beyond loopback")


class FakeDNS:
    """A resolver with fixed answers per name; a list of answers is served in turn.

    Names it does not know go to ``fallback`` (e.g. the system resolver, for
    ``localhost``), or do not exist.
    """

    def __init__(
        self,
        answers: dict[str, list[str] | list[list[str]]],
        fallback: Callable[[str, int], list[IPAddress]] | None = None,
    ) -> None:
        self.answers = answers
        self.fallback = fallback
        self.questions: list[str] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.questions.append(host)
        answer = self.answers.get(host)
        if answer is None and self.fallback is not None:
            return self.fallback(host, port)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if answer and isinstance(answer[0], list):
            # Rebinding: each question gets the next answer, the last one repeats.
            turn = min(self.questions.count(host), len(answer)) - 1
            answer = answer[turn]
        return [ipaddress.ip_address(address) for address in answer]  # type: ignore[arg-type]
