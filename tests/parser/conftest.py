"""Parser fixtures: a real loopback HTTP site whose pages each test declares."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


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
