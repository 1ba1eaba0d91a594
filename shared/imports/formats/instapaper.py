"""Instapaper's CSV export: ``URL,Title,Selection,Folder,Timestamp`` (and ``Tags``)."""

from __future__ import annotations

import json

from shared.imports.formats.base import CsvFormat
from shared.imports.records import MAX_NOTE, Record, clean_tags, clean_text, set_date, split_tags

#: Instapaper's own folders are statuses; any other folder is the user's.
FOLDER_STATUS = {"unread": "unread", "archive": "archived"}


def _tags(text: str | None) -> list[str]:
    """Instapaper writes tags as a JSON list (``["a", "b"]``); older files, comma-separated."""
    if not text or not text.strip():
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return split_tags(text)
    return clean_tags(value if isinstance(value, list) else [value])


class Instapaper(CsvFormat):
    """``URL,Title,Selection,Folder,Timestamp[,Tags]``."""

    name = "instapaper"
    label = "Instapaper CSV export"
    columns = ("url", "title", "selection", "folder", "timestamp", "tags")
    required = ("url", "folder", "timestamp")

    def record(self, line: int, row: dict[str, str]) -> Record:
        """Read one Instapaper row."""
        folder = clean_text(row.get("folder"))
        lowered = (folder or "").lower()
        record = Record(
            row=line,
            url=row.get("url", ""),
            title=clean_text(row.get("title")),
            tags=_tags(row.get("tags")),
            read_status=FOLDER_STATUS.get(lowered, "unread" if folder else None),
            favourite=True if lowered == "starred" else None,
            folder=None if lowered in {"unread", "archive", "starred"} else folder,
        )
        selection = clean_text(row.get("selection"), MAX_NOTE)
        if selection:
            record.highlights.append({"text": selection})
        set_date(record, row.get("timestamp"))
        return record
