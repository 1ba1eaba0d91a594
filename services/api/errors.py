"""Every error as ``application/problem+json`` (RFC 9457), mapped in one place.

Falcon's own errors (no route, method not allowed, body too large…) go through the
error serializer; the project's errors are turned into :class:`Problem`, which the
serializer renders the same way; anything unexpected is logged and answered with a
generic 500 that tells nothing of the internals.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import falcon
import peewee
import redis

from shared.errors import Conflict, InvalidRequest, NotFound, TooManyOpenTasks

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: Problem types of the project's own errors; generic HTTP errors use ``about:blank``.
INVALID_REQUEST = "urn:kbm:problem:invalid-request"
INVALID_JSON = "urn:kbm:problem:invalid-json"
NOT_FOUND = "urn:kbm:problem:not-found"
CONFLICT = "urn:kbm:problem:conflict"
UNAVAILABLE = "urn:kbm:problem:unavailable"


class Problem(falcon.HTTPError):
    """An HTTP error with an RFC 9457 type and extension members (``field``, ``errors``)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        problem_type: str = "about:blank",
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(
            status, title=title or HTTPStatus(status).phrase, description=detail, headers=headers
        )
        self.problem_type = problem_type
        self.extensions = extensions


def _default_detail(req: falcon.Request, resp: falcon.Response, status: int) -> str | None:
    if status == 404:
        return f"no route matches {req.path}"
    if status == 405:
        allowed = resp.get_header("Allow") or "none"
        return f"{req.method} is not allowed here; allowed methods: {allowed}"
    return None


def serialize_problem(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError) -> None:
    """Render any ``HTTPError`` as a problem document, whatever the client accepts."""
    status = ex.status_code
    phrase = HTTPStatus(status).phrase
    # Falcon's default title is the status line ("404 Not Found"); RFC 9457 wants the phrase.
    title = phrase if not ex.title or ex.title == f"{status} {phrase}" else ex.title
    body: dict[str, Any] = {
        "type": getattr(ex, "problem_type", "about:blank"),
        "title": title,
        "status": status,
    }
    detail = ex.description or _default_detail(req, resp, status)
    if detail:
        body["detail"] = detail
    body.update(getattr(ex, "extensions", {}))
    resp.content_type = PROBLEM_JSON
    resp.text = json.dumps(body, ensure_ascii=False)


def _invalid_request(
    req: falcon.Request, resp: falcon.Response, ex: InvalidRequest, params: dict[str, Any]
) -> None:
    problems = getattr(ex, "problems", None) or [{"field": ex.field, "message": ex.reason}]
    raise Problem(
        400,
        f"{ex.field}: {ex.reason}",
        problem_type=INVALID_REQUEST,
        title="Invalid request",
        field=ex.field,
        errors=problems,
    )


def _not_found(
    req: falcon.Request, resp: falcon.Response, ex: NotFound, params: dict[str, Any]
) -> None:
    raise Problem(404, str(ex), problem_type=NOT_FOUND)


def _conflict(
    req: falcon.Request, resp: falcon.Response, ex: Conflict, params: dict[str, Any]
) -> None:
    raise Problem(409, str(ex), problem_type=CONFLICT)


def _too_many_open_tasks(
    req: falcon.Request, resp: falcon.Response, ex: TooManyOpenTasks, params: dict[str, Any]
) -> None:
    raise Problem(429, str(ex), headers={"Retry-After": "30"})


def _unavailable(what: str) -> Callable[..., None]:
    """Return a handler answering 503 when ``what`` cannot be reached."""

    def handle(
        req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
    ) -> None:
        logger.warning("%s is unreachable during %s %s: %s", what, req.method, req.path, ex)
        raise Problem(
            503,
            f"{what} is unreachable; try again later",
            problem_type=UNAVAILABLE,
            headers={"Retry-After": "5"},
        )

    return handle


def _unexpected(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
) -> None:
    logger.error("unhandled error in %s %s", req.method, req.path, exc_info=ex)
    raise Problem(500, "an unexpected error occurred; it has been logged")


def install_error_handlers(app: falcon.App) -> None:
    """Make every error of ``app`` a problem document with the right status."""
    app.set_error_serializer(serialize_problem)
    # Falcon picks the most specific handler by the exception's MRO, so the catch-all
    # below never shadows these nor Falcon's own HTTPError handler.
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(InvalidRequest, _invalid_request)
    app.add_error_handler(NotFound, _not_found)
    app.add_error_handler(Conflict, _conflict)
    app.add_error_handler(TooManyOpenTasks, _too_many_open_tasks)
    for broker_error in (redis.ConnectionError, redis.TimeoutError):
        app.add_error_handler(broker_error, _unavailable("the message broker (Redis)"))
    for database_error in (peewee.OperationalError, peewee.InterfaceError):
        app.add_error_handler(database_error, _unavailable("the database"))
