"""The gateway as gunicorn serves it: an event loop reads requests, the app answers them.

gunicorn reads every connection of a gateway process on one asyncio loop
(:class:`services.api.worker.GatedASGIWorker`), so a client that never finishes its
headers (or its body) holds a few bytes of buffer, never the process. :class:`WholeRequests`
reads each request's body on that loop too; only a complete request is handed to the
Falcon WSGI app (:func:`services.api.app.create_app`), which then runs on the loop itself,
one request at a time, as a sync worker would: no thread hand-off per request, and the
process accepts no new connection while it answers (:class:`~services.api.worker.Gate`),
so the next one goes to a process that is free.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, NoReturn, cast

from a2wsgi.wsgi import build_environ

from services.api.app import create_app
from services.api.resources.imports import IMPORTS_PATH
from services.api.worker import Gate
from shared.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WholeRequests:
    """ASGI app: read a request whole on the loop, then answer it with a WSGI app.

    At most ``max_bytes + 1`` bytes of a body are kept, so the app can still tell a body
    over the limit (413) without the gateway buffering more; a body announced larger
    than the limit is not read at all (the app refuses it from ``Content-Length``).
    ``gate`` counts the requests being answered, for the worker's accept loop.
    """

    def __init__(
        self, app: WSGIApp, max_bytes: int, gate: Gate, larger: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.gate = gate
        #: Paths that take bigger bodies (an import's file), with their own cap; they are
        #: answered in a thread (see ``_answer``).
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request (other scopes are not served)."""
        if scope["type"] != "http":
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        announced_too_large = self._announced_too_large(scope, limit)
        body = b"" if announced_too_large else await self._body(receive, limit)
        if body is None:
            return  # the client left before sending its request: nothing to answer
        self.gate.enter()
        try:
            await self._answer(scope, body, send)
        finally:
            self.gate.leave()

    async def _body(self, receive: Receive, limit: int) -> bytes | None:
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > limit:
                del body[limit + 1 :]
                break
        return bytes(body)

    async def _answer(self, scope: Scope, body: bytes, send: Send) -> None:
        environ = cast(dict[str, Any], build_environ(scope, io.BytesIO(body)))  # type: ignore[arg-type]
        environ["wsgi.multithread"] = False
        start: dict[str, Any] = {}
        sent = False

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], NoReturn]:
            if exc_info is not None and sent:
                raise exc_info[1].with_traceback(exc_info[2])
            start.update(
                type="http.response.start",
                status=int(status.split(" ", 1)[0]),
                headers=[
                    (name.strip().lower().encode("latin1"), value.strip().encode("latin1"))
                    for name, value in headers
                ],
            )
            return _no_write

        if scope.get("path", "") in self.larger:
            # A long request (an import writes its links before it answers) runs off the
            # loop, which goes on telling gunicorn's arbiter the worker is alive; the gate
            # is still held, so the process accepts nothing new meanwhile.
            chunks = await asyncio.to_thread(self.app, environ, start_response)
        else:
            chunks = self.app(environ, start_response)
        try:
            for chunk in chunks:
                if not chunk:
                    continue
                if not sent:
                    await send(start)
                    sent = True
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if not sent:
                await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _announced_too_large(self, scope: Scope, limit: int) -> bool:
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length":
                try:
                    return int(value) > limit
                except ValueError:
                    return False
        return False


def _no_write(chunk: bytes) -> NoReturn:
    raise NotImplementedError("the gateway's apps return their bodies; write() is not offered")


def behind_event_loop(
    app: WSGIApp, max_body_bytes: int, larger: dict[str, int] | None = None
) -> WholeRequests:
    """Return the WSGI ``app`` as an ASGI app answering only complete requests."""
    return WholeRequests(app, max_body_bytes, Gate(1), larger)


def create_asgi_app(settings: Settings | None = None) -> WholeRequests:
    """Return the gateway for :class:`services.api.worker.GatedASGIWorker`."""
    settings = settings or Settings.from_env()
    return behind_event_loop(
        create_app(settings),
        settings.api_max_body_bytes,
        {IMPORTS_PATH: max(settings.import_max_bytes, settings.api_max_body_bytes)},
    )
