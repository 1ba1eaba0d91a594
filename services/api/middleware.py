"""Request middleware: body size cap, JSON-only bodies, database connection.

Each concern is its own small class, replaced and tested on its own; who may call is
``services.api.auth``.
"""

from __future__ import annotations

from typing import Any

import falcon

from services.api.body import too_large
from shared.db import database

JSON = "application/json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyLimit:
    """Refuse bodies announced larger than the cap before anything reads them (413).

    The JSON handler (:class:`services.api.body.BoundedJSONHandler`) also stops reading
    at the cap, for bodies whose length was not announced truthfully.
    """

    def __init__(self, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.max_bytes = max_bytes
        #: Paths that take bigger bodies (an import's file), with their own cap.
        self.larger = larger or {}

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Raise 413 when ``Content-Length`` is over the cap, 411 when it is missing."""
        size = req.content_length
        limit = self.larger.get(req.path, self.max_bytes)
        if size is not None and size > limit:
            raise too_large(limit, size)
        # Falcon reads a body up to Content-Length only: a chunked body would silently
        # read as empty, so it is refused with a reason instead.
        if size is None and "chunked" in (req.get_header("Transfer-Encoding") or "").lower():
            raise falcon.HTTPLengthRequired(
                description="send the body with a Content-Length; chunked bodies are not accepted"
            )


class JSONBodies:
    """Accept only JSON request bodies (415 otherwise), except on ``files`` paths (uploads)."""

    def __init__(self, files: frozenset[str] = frozenset()) -> None:
        self.files = files

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Raise 415 when a request carries a body that is not ``application/json``."""
        if req.path in self.files:
            return
        has_body = (
            bool(req.content_length)
            or "chunked" in (req.get_header("Transfer-Encoding") or "").lower()
        )
        if req.method not in BODY_METHODS or not has_body:
            return
        media_type = (req.content_type or "").split(";", 1)[0].strip().lower()
        if media_type != JSON:
            raise falcon.HTTPUnsupportedMediaType(
                description=f"request bodies must be {JSON}, got {media_type or 'no type'}"
            )


class DatabaseSession:
    """Hold one pooled database connection for each request that needs one.

    The connection is taken once the route is known (``process_resource``), so unrouted
    requests never take one and resources that set ``uses_database = False`` (health, which
    checks the database itself and must answer when it is down; metrics; the document)
    work without the database.
    """

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        """Connect, or reuse the thread's open connection."""
        if resource is not None and getattr(resource, "uses_database", True):
            database.connect(reuse_if_open=True)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        """Return the connection to the pool."""
        if not database.is_closed():
            database.close()
