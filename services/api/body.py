"""Request bodies: read at most the configured size, parse JSON, validate into a model."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import falcon
from falcon.media import JSONHandler
from pydantic import BaseModel

from services.api.errors import INVALID_JSON, Problem
from services.api.schemas import validate


def too_large(limit: int, size: int | None = None) -> falcon.HTTPContentTooLarge:
    """Return the 413 error for a body over ``limit`` bytes."""
    told = f"request body is {size} bytes" if size is not None else "request body is too large"
    return falcon.HTTPContentTooLarge(description=f"{told}; the limit is {limit} bytes")


class BoundedJSONHandler(JSONHandler):
    """Parse JSON bodies, never reading more than ``max_bytes`` whatever the headers said."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def deserialize(self, stream: Any, content_type: str | None, content_length: int | None) -> Any:
        """Read at most one byte over the limit, so a longer body is detected, not buffered."""
        data = stream.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise too_large(self.max_bytes)
        if not data:
            raise falcon.MediaNotFoundError("JSON")
        try:
            return json.loads(data)
        except ValueError as ex:  # JSONDecodeError and UnicodeDecodeError
            raise Problem(
                400,
                f"request body is not valid JSON: {ex}",
                problem_type=INVALID_JSON,
                title="Invalid JSON",
            ) from None


M = TypeVar("M", bound=BaseModel)


def read_body(req: falcon.Request, model: type[M]) -> M:
    """Return the request's JSON body validated as ``model`` (no body counts as ``{}``)."""
    data = req.get_media(default_when_empty={})
    return validate(model, data)
