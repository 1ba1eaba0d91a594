"""A page's database properties, and the check that the database has them.

Property values keep Notion's limits: text split into items of 2 000 units, at most 100
multi-select options, option names without commas and at most 100 characters.
Long texts are cut (with "…") to what a table cell usefully shows: the page body holds
the whole summary.
"""

from __future__ import annotations

import datetime
from dataclasses import fields
from typing import Any

from services.notion import richtext
from services.notion.publishers.base import PublishDocument
from services.notion.settings import PropertyNames
from shared.errors import PermanentError

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
MAX_URL = 2000
MAX_OPTIONS = 100
MAX_OPTION_NAME = 100
MAX_TITLE = richtext.MAX_TEXT
#: UTF-16 units of the Summary and Author cells (the body has the whole summary).
MAX_PROPERTY_TEXT = 10 * richtext.MAX_TEXT


def page_properties(document: PublishDocument, names: PropertyNames) -> dict[str, Any]:
    """Return the property values of ``document``'s page."""
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
    }


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
