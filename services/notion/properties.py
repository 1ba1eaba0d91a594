"""A page's database properties, and the check that the database has them.

Property values keep Notion's limits: text split into items of 2 000 units, at most 100
multi-select options, option names without commas and at most 100 characters.
Long texts are cut (with "…") to what a table cell usefully shows: the page body holds
the whole summary.

Besides the properties every database needs, a few are written when the database has
them (:data:`OPTIONAL_PROPERTIES`, by name and type): ``Type`` (a select) takes the
page's kind (``content.page_type``), ``Saved`` (a date) and ``Status`` (a select) the
link's import metadata (when the user saved it; unread, read or archived). A value that
is not known is not written: it stays the user's.
"""

from __future__ import annotations

import datetime
from dataclasses import fields
from typing import Any

from services.notion import richtext
from services.notion.publishers.base import PublishDocument
from shared.errors import PermanentError
from shared.notion_settings import PropertyNames

#: The type each field's property must have.
EXPECTED_TYPES: dict[str, str] = {
    "title": "title",
    "url": "url",
    "tags": "multi_select",
    "category": "select",
    "sentiment": "select",
    "summary": "rich_text",
    "author": "rich_text",
    "published": "date",
}
#: Optional properties by name: (their type, the document's attribute they show).
OPTIONAL_PROPERTIES: dict[str, tuple[str, str]] = {
    "Type": ("select", "page_type"),
    "Saved": ("date", "saved_at"),
    "Status": ("select", "read_status"),
}
MAX_URL = 2000
MAX_OPTIONS = 100
MAX_OPTION_NAME = 100
MAX_TITLE = richtext.MAX_TEXT
#: UTF-16 units of the Summary and Author cells (the body has the whole summary).
MAX_PROPERTY_TEXT = 10 * richtext.MAX_TEXT


def page_properties(
    document: PublishDocument, names: PropertyNames, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the property values of ``document``'s page.

    The optional properties the data source (``schema``) has are written when the
    document has a value for them.
    """
    if richtext.utf16_len(document.url) > MAX_URL:
        raise PermanentError(
            f"link {document.link_id}: its URL is longer than the {MAX_URL} characters a "
            "Notion URL property holds, so it cannot be published to Notion"
        )
    title = richtext.truncate(" ".join(richtext.clean(document.title).split()), MAX_TITLE)
    category = option_name(document.category)
    sentiment = option_name(document.sentiment)
    return {
        names.title: {"title": richtext.rich_text(title)},
        names.url: {"url": document.url},
        names.tags: {"multi_select": [{"name": name} for name in option_names(document.tags)]},
        names.category: {"select": {"name": category} if category else None},
        names.sentiment: {"select": {"name": sentiment} if sentiment else None},
        names.summary: {"rich_text": _text(document.summary)},
        names.author: {"rich_text": _text(", ".join(document.authors))},
        names.published: {"date": _date(document.published_at)},
        **{
            name: value
            for name, value in _optional(document, schema or {}).items()
            if name not in vars(names).values()
        },
    }


def optional_found(schema: dict[str, Any]) -> list[str]:
    """Return the optional properties the data source has with the expected type."""
    return [
        name
        for name, (kind, _) in OPTIONAL_PROPERTIES.items()
        if (schema.get(name) or {}).get("type") == kind
    ]


def _optional(document: PublishDocument, schema: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in optional_found(schema):
        kind, attribute = OPTIONAL_PROPERTIES[name]
        value = getattr(document, attribute, None)
        if kind == "select" and value:
            option = option_name(str(value))
            if option:
                values[name] = {"select": {"name": option}}
        elif kind == "date" and isinstance(value, datetime.date):
            values[name] = {"date": _date(value)}
    return values


def option_name(value: str) -> str:
    """Return ``value`` as a select option name: no commas, one line, 100 characters."""
    # Notion splits a new option's name at commas; a space keeps the words apart.
    name = " ".join(richtext.clean(value).replace(",", " ").split())
    return richtext.truncate(name, MAX_OPTION_NAME)


def option_names(values: list[str]) -> list[str]:
    """Return distinct option names for ``values``, the first 100 in order."""
    names = dict.fromkeys(name for name in map(option_name, values) if name)
    return list(names)[:MAX_OPTIONS]


def schema_problems(schema: dict[str, Any], names: PropertyNames) -> list[str]:
    """Return what is missing or mistyped in a data source's ``properties``."""
    problems = []
    types = {name: str(value.get("type")) for name, value in schema.items()}
    for field in fields(PropertyNames):
        role = field.name
        name = getattr(names, role)
        expected = EXPECTED_TYPES[role]
        hint = f" (or set {PropertyNames.variable(role)} to the property to use)"
        if name not in types:
            near = [other for other in types if other.casefold() == name.casefold()]
            if near:
                problems.append(
                    f"no property {name!r} ({expected}): there is {near[0]!r}, and names are "
                    f"case-sensitive{hint}"
                )
            elif expected == "title":
                actual = next((other for other, kind in types.items() if kind == "title"), None)
                where = f": the title property is {actual!r}" if actual else ""
                problems.append(f"no title property {name!r}{where}{hint}")
            else:
                problems.append(f"missing property {name!r} of type {expected}{hint}")
        elif types[name] != expected:
            problems.append(f"property {name!r} is {types[name]}, expected {expected}{hint}")
    return problems


def _text(text: str) -> list[dict[str, Any]]:
    cleaned = " ".join(richtext.clean(text).split())
    return richtext.rich_text(richtext.truncate(cleaned, MAX_PROPERTY_TEXT)) if cleaned else []


def _date(value: datetime.date | None) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        # A timestamp would claim a precision the page never gave; keep the day.
        value = value.date()
    return {"start": value.isoformat()}
