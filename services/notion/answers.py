"""What Notion's answers mean: throttling (which limit), and the errors they become.

A 429 ``rate_limited`` names the limit it hit in ``additional_data.rate_limit_reason``
(the integration's or the workspace's); a 529 ``service_overload`` is retried like it.
Other 4xx answers surely changed nothing and become errors that say what to do.
"""

from __future__ import annotations

import math

from notion_client.errors import HTTPResponseError

from shared.errors import ConfigurationError, PermanentError, PublishError

#: Waits when a 429/529 gives no Retry-After, and before repeating a failed read.
DEFAULT_RETRY_AFTER = 1.0
OVERLOADED = 529


class OutcomeUnknown(PublishError):
    """A write may or may not have been applied (timeout, dropped connection, 5xx)."""


class NotionNotFound(PermanentError):
    """Notion knows no such object, or it is not shared with the integration."""


def is_throttle(ex: HTTPResponseError) -> bool:
    """Tell whether an answer is a 429 or a 529 (retried after its Retry-After)."""
    return ex.status in (429, OVERLOADED) or ex.code in ("rate_limited", "service_overload")


def throttle_reason(ex: HTTPResponseError) -> str:
    """Return which limit a 429 names (``workspace``, ``connection``…) or ``overload``."""
    if ex.status == OVERLOADED or ex.code == "service_overload":
        return "overload"
    extra = getattr(ex, "additional_data", None) or {}
    reason = str(extra.get("rate_limit_reason") or "") if isinstance(extra, dict) else ""
    if "workspace" in reason.lower():
        return "workspace"
    if reason:
        return "connection" if reason.lower() in ("connection", "integration") else "other"
    return "connection"


def retry_after(ex: HTTPResponseError) -> float:
    """Return the answer's ``Retry-After`` in seconds (a default when it has none)."""
    header = ex.headers.get("retry-after") if ex.headers else None
    try:
        wait = float(header) if header else DEFAULT_RETRY_AFTER
    except ValueError:
        wait = DEFAULT_RETRY_AFTER
    return max(0.0, wait) if math.isfinite(wait) else DEFAULT_RETRY_AFTER


def client_error(ex: HTTPResponseError, what: str) -> Exception:
    """Return the error a 4xx (other than 429) becomes, with what the user should do."""
    message = str(ex)
    if ex.status == 401 or ex.code == "unauthorized":
        return ConfigurationError(
            f"{what}: Notion refused NOTION_TOKEN (401 unauthorized: {message}). Copy the "
            "secret of your integration from https://www.notion.so/profile/integrations "
            "into NOTION_TOKEN"
        )
    if ex.status == 403 or ex.code == "restricted_resource":
        return ConfigurationError(
            f"{what}: the integration lacks a capability (403 restricted_resource: {message}). "
            "Give it the Read, Update and Insert content capabilities at "
            "https://www.notion.so/profile/integrations"
        )
    if ex.status == 404 or ex.code == "object_not_found":
        return NotionNotFound(f"{what}: {message}")
    if "block limit" in message.lower():
        return PermanentError(
            f"{what}: the Notion workspace has reached its plan's block limit ({message}). "
            "Upgrade the workspace's plan or delete content, then retry the task"
        )
    if ex.status == 409 or ex.code == "conflict_error":
        return PublishError(f"{what}: Notion reported a conflict ({message}); trying again")
    if "archived" in message.lower() or "in trash" in message.lower():
        return PermanentError(
            f"{what}: the page is in Notion's trash ({message}). Restore it, or delete it "
            "for good so that the next publish creates a new page, then retry the task"
        )
    return PermanentError(
        f"{what}: Notion rejected the request ({ex.status} {ex.code}: {message}). Run "
        "`kbm doctor` to check the database's properties; if they are right, report this "
        "message as a bug"
    )
