"""Tiny WSGI apps for tests that run a real gunicorn."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from services.api.asgi import behind_event_loop


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer 401 when the query holds a token (as the gateway does), else 200."""
    refused = "token" in environ.get("QUERY_STRING", "")
    start_response("401 Unauthorized" if refused else "200 OK", [("Content-Length", "2")])
    return [b"no" if refused else b"ok"]


def pid_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer the serving process's id; ``/hold?seconds=S`` first holds its process S s.

    The hold blocks the process as a slow database call would (the gateway answers on
    its event loop).
    """
    if environ["PATH_INFO"] == "/hold":
        time.sleep(float(environ["QUERY_STRING"].removeprefix("seconds=")))
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


#: :func:`pid_app` as the gateway's configuration serves it.
asgi_pid_app = behind_event_loop(pid_app, 1024)
