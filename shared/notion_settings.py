"""The notion service's settings: what the Notion publisher needs, checked.

:class:`NotionSettings` is what ``settings.notion`` hands the publisher: the token, the
database, the base URL, the rate limit and the stage's time limit of the shared settings,
with what only the publisher needs (property names, the data source, request timing).
:class:`shared.settings.Settings` reads and checks them all, its fields taking their
defaults from here, and requires the token and the database only when this is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: An object's id in the Notion API: 32 hexadecimal digits, dashed as a UUID or not.
_NOTION_ID = re.compile(
    r"([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})"
)


@dataclass(frozen=True)
class PropertyNames:
    """The database property that holds each field of a page."""

    title: str = "Name"
    url: str = "URL"
    tags: str = "Tags"
    category: str = "Category"
    sentiment: str = "Sentiment"
    summary: str = "Summary"
    author: str = "Author"
    published: str = "Published"

    @staticmethod
    def variable(role: str) -> str:
        """Return the environment variable that maps ``role`` to a property name."""
        return f"NOTION_PROPERTY_{'NAME' if role == 'title' else role.upper()}"


@dataclass(frozen=True)
class NotionSettings:
    """Everything the Notion publisher needs, checked."""

    token: str
    database_id: str
    base_url: str
    redis_url: str
    #: Requests per second for every process using this token together.
    rate_limit: float
    #: The publish stage's time limit: a page's requests stay within it.
    stage_timeout: float
    properties: PropertyNames = PropertyNames()
    #: The data source to publish into, when the database has several.
    data_source_id: str | None = None
    #: The longest one request may take before its outcome counts as unknown.
    request_timeout: float = 30.0
    #: Notion gives up on a request after 60 s: a create sent longer ago than this and
    #: not found by its URL never happened, so creating again cannot make a duplicate.
    create_settle: float = 65.0
    #: Requests per second of the workspace's budget, shared by every integration
    #: (token) of the workspace; ``None``: the token's rate. Notion scales this limit to
    #: the workspace's plan and answers 429 ``rate_limit_reason`` workspace past it.
    workspace_rate_limit: float | None = None


def notion_id(value: str) -> str:
    """Return the dashed id in ``value`` (an id or a Notion URL holding one).

    Raise :class:`ValueError` when there is none.
    """
    # A URL's last id is the object's: https://www.notion.so/ws/Title-<id>?v=<view id>.
    path = value.strip().lower().split("?", 1)[0]
    found = _NOTION_ID.findall(path)
    if not found:
        raise ValueError(
            "must be a Notion id (32 hexadecimal digits, as in the database's URL) "
            "or the database's URL"
        )
    return "-".join(found[-1])
