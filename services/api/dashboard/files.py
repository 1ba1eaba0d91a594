"""Serve the dashboard: the page at ``/``, its assets at ``/dashboard/<name>``.

A sink rather than routes: the dashboard is not part of the API, so it stays out of the
router (and so out of the OpenAPI document, which the tests match against the router
both ways). The files carry no data and are served without a token; the page asks for
the token and sends it on its own API calls.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import falcon

from services.api.auth import Access

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The paths the sink answers: ``/`` and one flat level of assets, nothing else.
PATHS = re.compile(r"/(?:dashboard/(?P<name>[A-Za-z0-9_-]+\.[a-z]+))?\Z")
INDEX = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    # Module scripts are refused by browsers unless served with a JavaScript type.
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}

#: Only the gateway's own scripts, styles and API: no inline code, no other origin.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: The names are not fingerprinted: browsers keep the files but ask each time whether
#: they changed (a 304 costs a few bytes), so an upgrade is seen on the next load.
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class StaticFile:
    """One file of the dashboard, read once."""

    body: bytes
    content_type: str
    etag: str


def load_files(directory: Path) -> dict[str, StaticFile]:
    """Read the servable files of ``directory`` (a few small files), by name."""
    files: dict[str, StaticFile] = {}
    if not directory.is_dir():
        return files
    for path in sorted(directory.iterdir()):
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None or not path.is_file():
            continue
        body = path.read_bytes()
        files[path.name] = StaticFile(body, content_type, hashlib.sha256(body).hexdigest()[:20])
    return files


class DashboardFiles:
    """Sink answering the dashboard's files with CSP and revalidation headers."""

    #: Static files, no data: the page asks for the token and sends it on its API calls.
    access = Access.OPEN

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.files = load_files(directory)
        if INDEX not in self.files:
            logger.warning("dashboard: %s not found in %s; / will answer 404", INDEX, directory)

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        """Answer ``GET``/``HEAD`` of the page or of the asset ``params["name"]``."""
        name: str | None = params.get("name")
        # A sink has no route template: name one so metrics count the dashboard under
        # two labels rather than as unmatched requests.
        req.uri_template = "/" if name is None else "/dashboard/{name}"
        if req.method not in ("GET", "HEAD"):
            raise falcon.HTTPMethodNotAllowed(["GET", "HEAD"])
        found = self.files.get(name or INDEX)
        if found is None:
            detail = (
                f"the dashboard has no file {name!r}" if name else "the dashboard is not installed"
            )
            raise falcon.HTTPNotFound(description=detail)
        resp.set_headers(SECURITY_HEADERS)
        resp.cache_control = [CACHE_CONTROL]
        resp.etag = found.etag
        if any(tag in ("*", found.etag) for tag in req.if_none_match or ()):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = found.content_type
        resp.data = found.body
