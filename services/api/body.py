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
    return falcon.HTTPContentTooLarge(
        title="Request body too large", description=f"{told}; the limit is {limit} bytes"
    )


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
            document = json.loads(data)
        except ValueError as ex:  # JSONDecodeError and UnicodeDecodeError
            raise invalid_json(f"request body is not valid JSON: {ex}") from None
        except RecursionError:
            raise invalid_json(
                "request body is nested too deeply to be read; no request needs more than a "
                "few levels"
            ) from None
        check_unicode(document)
        return document


def invalid_json(detail: str, **extensions: Any) -> Problem:
    """Return the 400 problem of a body that cannot be taken as JSON."""
    return Problem(400, detail, problem_type=INVALID_JSON, title="Invalid JSON", **extensions)


def check_unicode(document: Any) -> None:
    r"""Raise a 400 naming a string (key or value) that is not valid Unicode, if any.

    JSON's ``\ud800`` escapes decode to lone surrogates, which no database, file or page
    can store: they are refused here, for every route, before any model sees them.
    """
    stack: list[tuple[str, Any]] = [("body", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            _check_text(path, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(path, key)
                stack.append((f"{key}" if path == "body" else f"{path}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def _check_text(path: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid_json(
            f"{path}: contains a lone surrogate (an unpaired \\ud800-\\udfff escape), which is "
            "not text",
            field=path,
        ) from None


M = TypeVar("M", bound=BaseModel)


def read_body(req: falcon.Request, model: type[M]) -> M:
    """Return the request's JSON body validated as ``model`` (no body counts as ``{}``)."""
    data = req.get_media(default_when_empty={})
    return validate(model, data)
