"""The Notion database's tag options, brought into the knowledge base's tag vocabulary.

The options of the database's Tags multi-select are tags the user already chose: the ai
service prefers them (``services/ai/vocabulary.py``). The notion worker reads them when
it checks the database's schema at start-up, and stores the new ones without a key; the
ai service gives them theirs.
"""

from __future__ import annotations

from typing import Any

from shared import tags
from shared.db import database


def option_names(properties: dict[str, Any], tags_property: str) -> list[str]:
    """Return the option names of the multi-select ``tags_property`` of a schema."""
    schema = properties.get(tags_property) or {}
    options = (schema.get("multi_select") or {}).get("options") or []
    return [
        str(option["name"]).strip()
        for option in options
        if isinstance(option, dict) and str(option.get("name") or "").strip()
    ]


def remember_options(properties: dict[str, Any], tags_property: str) -> int:
    """Add the schema's tag options to the vocabulary; return how many were new."""
    names = option_names(properties, tags_property)
    if not names:
        return 0
    with database.connection_context():
        return tags.add_tags(names, source="notion")
