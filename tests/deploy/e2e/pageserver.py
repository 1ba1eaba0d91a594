"""A page server for the compose end-to-end test, run in the stack's network.

Serves every ``*.html.gz`` of ``PAGES_DIR`` decompressed at ``/<name>.html``, each after
``PAGE_DELAY`` seconds (so work is in flight when the test kills a container), and
answers ``GET /_requests`` with who fetched what: ``{"served": {client: n}, "in_flight":
{client: n}}``, client being the requesting container's address. Standard library only:
it runs in the Python base image.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

PAGES = Path(os.environ.get("PAGES_DIR", "/pages"))
DELAY = float(os.environ.get("PAGE_DELAY", "0"))
LOCK = threading.Lock()
SERVED: Counter[str] = Counter()
IN_FLIGHT: Counter[str] = Counter()


class Handler(BaseHTTPRequestHandler):
    """Serve the pages and the request counts."""

    def do_GET(self) -> None:
        """Answer one GET."""
        if self.path == "/_requests":
            with LOCK:
                body = json.dumps({"served": SERVED, "in_flight": IN_FLIGHT}).encode()
            self._answer(200, "application/json", body)
            return
        # A query string makes another link of the same page.
        name = urlsplit(self.path).path.lstrip("/")
        source = PAGES / (name.removesuffix(".html") + ".html.gz")
        if "/" in name or not source.is_file():
            self._answer(404, "text/plain", b"no such page")
            return
        client = self.client_address[0]
        with LOCK:
            IN_FLIGHT[client] += 1
        try:
            time.sleep(DELAY)
            self._answer(200, "text/html; charset=utf-8", gzip.decompress(source.read_bytes()))
        finally:
            with LOCK:
                IN_FLIGHT[client] -= 1
                SERVED[client] += 1

    def _answer(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the container's log quiet."""


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
