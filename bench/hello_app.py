"""A WSGI app answering every request with a fixed JSON body: the gateway's baseline.

Served by gunicorn with the gateway's own configuration (``asgi_app``: behind the same
event loop and threads), it measures what gunicorn, loopback HTTP and the load
generator cost before the gateway does any work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from services.api.asgi import behind_event_loop

BODY = json.dumps(
    {
        "success": True,
        "data": {
            "id": 1,
            "type": "pipeline",
            "status": "queued",
            "total_items": 1000,
            "completed_items": 0,
            "failed_items": 0,
            "progress": 0.0,
        },
    }
).encode()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer 200 with :data:`BODY`."""
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


#: The app as the gateway's configuration serves it.
asgi_app = behind_event_loop(app, 1_048_576)
