"""A loopback feed server: RSS 2.0 and Atom documents, with or without validators.

Each feed is served at its path with ``ETag`` and ``Last-Modified`` when asked for, and
answers ``304 Not Modified`` to a conditional request whose validator still matches.
Tests change a feed's entries while it is served and read what was asked of it.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class Entry:
    """One item of a feed."""

    link: str
    title: str
    guid: str | None = None
    published: datetime = EPOCH


@dataclass
class Served:
    """How one path answers."""

    body: bytes
    content_type: str
    validators: bool = True
    status: int = 200
    modified: float = field(default_factory=time.time)


@dataclass
class Hit:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    status: int


def rss(entries: list[Entry], title: str = "A feed") -> bytes:
    """Return an RSS 2.0 document of ``entries``."""
    items = "".join(
        "<item>"
        f"<title>{escape(entry.title)}</title><link>{escape(entry.link)}</link>"
        + (f"<guid>{escape(entry.guid)}</guid>" if entry.guid else "")
        + f"<pubDate>{email.utils.format_datetime(entry.published)}</pubDate>"
        "</item>"
        for entry in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link>"
        f"<description>d</description>{items}</channel></rss>"
    ).encode()


def atom(entries: list[Entry], title: str = "An Atom feed") -> bytes:
    """Return an Atom 1.0 document of ``entries``."""
    items = "".join(
        "<entry>"
        f"<title>{escape(entry.title)}</title><link href={_attr(entry.link)}/>"
        f"<id>{escape(entry.guid or entry.link)}</id>"
        f"<updated>{entry.published.isoformat()}</updated>"
        "</entry>"
        for entry in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:feed</id>"
        f"<updated>{EPOCH.isoformat()}</updated>{items}</feed>"
    ).encode()


def _attr(value: str) -> str:
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def entries_for(base: str, count: int, start: int = 0) -> list[Entry]:
    """Return ``count`` entries linking to ``base`` pages, newest last."""
    return [
        Entry(
            link=f"{base}?n={n}",
            title=f"Entry {n}",
            guid=f"urn:entry:{n}",
            published=EPOCH + timedelta(minutes=n),
        )
        for n in range(start, start + count)
    ]


class FeedSite:
    """A ThreadingHTTPServer on 127.0.0.1 serving feeds."""

    def __init__(self) -> None:
        self.served: dict[str, Served] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        validators: bool = True,
        status: int = 200,
    ) -> str:
        """Serve ``body`` at ``path`` (again, as changed content); return its URL."""
        with self.lock:
            self.served[path] = Served(body, content_type, validators, status)
        return self.base_url + path

    def hits_of(self, path: str) -> list[Hit]:
        """Return the requests of one path."""
        with self.lock:
            return [hit for hit in self.hits if hit.path == path]

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            served = self.served.get(path)
        if served is None:
            return 404, {"Content-Type": "text/plain"}, b"no such feed"
        if served.status != 200:
            return served.status, {"Content-Type": "text/plain"}, b"failing on purpose"
        answer = {"Content-Type": served.content_type}
        if served.validators:
            etag = '"' + hashlib.sha256(served.body).hexdigest()[:16] + '"'
            modified = email.utils.formatdate(served.modified, usegmt=True)
            answer |= {"ETag": etag, "Last-Modified": modified}
            if headers.get("if-none-match") == etag or (
                "if-none-match" not in headers and headers.get("if-modified-since") == modified
            ):
                return 304, answer, b""
        return 200, answer, served.body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, answer, body = site._answer(self.path, headers)
                with site.lock:
                    site.hits.append(Hit(self.path, headers, status))
                self.send_response(status)
                for name, value in answer.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def feed_site() -> Iterator[FeedSite]:
    """Run a :class:`FeedSite` for the block."""
    site = FeedSite()
    thread = threading.Thread(
        target=site.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()
