"""A tiny WSGI app for tests that run a real gunicorn: refuses credentials in the query."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer 401 when the query holds a token (as the gateway does), else 200."""
    refused = "token" in environ.get("QUERY_STRING", "")
    start_response("401 Unauthorized" if refused else "200 OK", [("Content-Length", "2")])
    return [b"no" if refused else b"ok"]
