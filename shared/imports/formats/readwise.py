"""Readwise Reader's CSV export: ``Title,URL,ID,Document tags,Saved date,…,Location``."""

from __future__ import annotations

import ast

from shared.imports.formats.base import CsvFormat
from shared.imports.records import Record, clean_tags, clean_text, set_date, split_tags

#: Reader's locations: ``archive`` is read and put away; ``shortlist`` is the starred list.
LOCATIONS = {"new": "unread", "later": "unread", "shortlist": "unread", "archive": "archived"}


def _tags(text: str | None) -> list[str]:
    """Reader writes ``['a', 'b']`` (a Python list); plain ``a, b`` is read too."""
    if not text or not text.strip():
        return []
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError):
            return split_tags(stripped.strip("[]").replace("'", ""))
        return clean_tags(value if isinstance(value, list | tuple) else [value])
    return split_tags(stripped)


class Readwise(CsvFormat):
    """``Title,URL,ID,Document tags,Saved date,Reading progress,Location,Seen``."""

    name = "readwise"
    label = "Readwise Reader CSV export"
    columns = (
        "title", "url", "id", "document tags", "saved date", "reading progress", "location",
        "seen",
    )  # fmt: skip
    required = ("url", "document tags", "saved date")

    def record(self, line: int, row: dict[str, str]) -> Record:
        """Read one Reader row."""
        location = (row.get("location") or "").strip().lower()
        status = LOCATIONS.get(location)
        try:
            progress = float(row.get("reading progress") or 0)
        except ValueError:
            progress = 0.0
        if status == "unread" and progress >= 1.0:
            status = "read"
        record = Record(
            row=line,
            url=row.get("url", ""),
            title=clean_text(row.get("title")),
            tags=_tags(row.get("document tags")),
            read_status=status,
            favourite=True if location == "shortlist" else None,
        )
        set_date(record, row.get("saved date"))
        return record
