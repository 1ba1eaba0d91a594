"""The gateway as gunicorn serves it: an event loop in front, the Falcon app in threads.

gunicorn's ``asgi`` worker reads every connection on one asyncio loop, so a client that
never finishes its headers (or its body) holds a few bytes of buffer, never a thread.
:class:`WholeBodies` reads each request's body on that loop too; only then does a2wsgi
run the WSGI app (:func:`services.api.app.create_app`) in its thread pool, where the
request needs no more from the network.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from a2wsgi import WSGIMiddleware

from services.api.app import create_app
from shared.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Threads per gateway process running requests (a2wsgi's pool): each holds a request
#: that is complete, so a few suffice; the database pool has room for them.
THREADS = 4


class WholeBodies:
    """ASGI middleware: receive a request's whole body before the app sees the request.

    At most ``max_bytes + 1`` bytes are kept, so the app can still tell a body over the
    limit (413) without the gateway buffering more; a body announced larger than the
    limit is not read at all (the app refuses it from ``Content-Length``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body, then call the app with a ``receive`` that replays it."""
        if scope["type"] != "http" or self._announced_too_large(scope):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its request: nothing to answer
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_bytes:
                del body[self.max_bytes + 1 :]
                break
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # a disconnect, should the app wait for one
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _announced_too_large(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length":
                try:
                    return int(value) > self.max_bytes
                except ValueError:
                    return False
        return False


def behind_event_loop(app: Callable[..., Any], max_body_bytes: int) -> ASGIApp:
    """Return the WSGI ``app`` as an ASGI app that runs only complete requests in threads."""
    wsgi = WSGIMiddleware(app, workers=THREADS)
    return WholeBodies(wsgi, max_body_bytes)  # type: ignore[arg-type]


def create_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """Return the gateway for gunicorn's ``asgi`` worker (see the module's docstring)."""
    settings = settings or Settings.from_env()
    return behind_event_loop(create_app(settings), settings.api_max_body_bytes)
