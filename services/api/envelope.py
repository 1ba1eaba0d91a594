"""The envelope of every successful JSON answer: ``{"success": true, "data": …}``."""

from __future__ import annotations

from typing import Any

import falcon


def reply(
    resp: falcon.Response,
    data: Any,
    status: int = 200,
    *,
    success: bool = True,
    location: str | None = None,
) -> None:
    """Answer ``data`` in the envelope with ``status``."""
    resp.status = status
    resp.media = {"success": success, "data": data}
    if location is not None:
        resp.location = location


def envelope_schema(data: dict[str, Any], *, success: bool | None = True) -> dict[str, Any]:
    """Return the JSON schema of the envelope around ``data``'s schema."""
    flag: dict[str, Any] = {"type": "boolean"} if success is None else {"const": success}
    return {
        "type": "object",
        "required": ["success", "data"],
        "properties": {"success": flag, "data": data},
    }
