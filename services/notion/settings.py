"""The notion service's own settings, read once at process start.

The shared :class:`~shared.settings.Settings` holds the token, the database id, the base
URL, the rate limit and the stage's time limit; this adds what only the Notion publisher
needs (property names, the data source, request timing). It reads the environment and a
``.env`` file the way the shared settings do, and names the variable of any bad value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from dotenv import dotenv_values

from shared.errors import ConfigurationError
from shared.settings import Settings

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

    @classmethod
    def from_env(
        cls, settings: Settings, environ: Mapping[str, str | None] | None = None
    ) -> NotionSettings:
        """Return the settings for ``settings``' token and database, read from the environment.

        Raise :class:`ConfigurationError` naming the variable that is missing or invalid.
        """
        env = _environment() if environ is None else {k.upper(): v for k, v in environ.items()}
        token = settings.notion_token.get_secret_value().strip() if settings.notion_token else ""
        if not token:
            raise ConfigurationError(
                "NOTION_TOKEN is not set: create an internal integration at "
                "https://www.notion.so/profile/integrations and set NOTION_TOKEN to its secret"
            )
        database_id = notion_id(settings.notion_database_id or "", "NOTION_DATABASE_ID")
        data_source = (env.get("NOTION_DATA_SOURCE_ID") or "").strip()
        return cls(
            token=token,
            database_id=database_id,
            base_url=settings.notion_base_url.rstrip("/"),
            redis_url=settings.redis_url,
            rate_limit=settings.notion_rate_limit,
            stage_timeout=settings.notion_timeout,
            properties=_property_names(env),
            data_source_id=notion_id(data_source, "NOTION_DATA_SOURCE_ID") if data_source else None,
            request_timeout=_seconds(
                env, "NOTION_REQUEST_TIMEOUT", cls.request_timeout, positive=True
            ),
            create_settle=_seconds(env, "NOTION_CREATE_SETTLE", cls.create_settle),
        )


def notion_id(value: str, variable: str) -> str:
    """Return the dashed id in ``value`` (an id or a Notion URL holding one).

    Raise :class:`ConfigurationError` naming ``variable`` when there is none.
    """
    # A URL's last id is the object's: https://www.notion.so/ws/Title-<id>?v=<view id>.
    path = value.strip().lower().split("?", 1)[0]
    found = _NOTION_ID.findall(path)
    if not found:
        raise ConfigurationError(
            f"{variable} must be a Notion id (32 hexadecimal digits, as in the database's URL) "
            f"or the database's URL (got {value!r})"
        )
    return "-".join(found[-1])


def _environment() -> dict[str, str | None]:
    """Return ``.env`` values overridden by the process environment, as the shared settings."""
    values: dict[str, str | None] = {}
    if Path(".env").is_file():
        values.update({key.upper(): value for key, value in dotenv_values(".env").items()})
    values.update({key.upper(): value for key, value in os.environ.items()})
    return values


def _property_names(env: Mapping[str, str | None]) -> PropertyNames:
    names: dict[str, str] = {}
    for field in fields(PropertyNames):
        variable = PropertyNames.variable(field.name)
        raw = env.get(variable)
        name = field.default if raw is None else raw.strip()
        if not name:
            raise ConfigurationError(f"{variable} is empty: give the name of a database property")
        names[field.name] = str(name)
    by_name: dict[str, list[str]] = {}
    for role, name in names.items():
        by_name.setdefault(name, []).append(PropertyNames.variable(role))
    shared = {name: roles for name, roles in by_name.items() if len(roles) > 1}
    if shared:
        name, variables = next(iter(shared.items()))
        raise ConfigurationError(
            f"{' and '.join(variables)} all name the property {name!r}: each field needs its own"
        )
    return PropertyNames(**names)


def _seconds(
    env: Mapping[str, str | None], variable: str, default: float, *, positive: bool = False
) -> float:
    raw = env.get(variable)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{variable} must be a number of seconds (got {raw!r})") from None
    if value < 0 or (positive and value == 0) or value != value:
        kind = "positive" if positive else "zero or more"
        raise ConfigurationError(f"{variable} must be {kind} seconds (got {raw!r})")
    return value
