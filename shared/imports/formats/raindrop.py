"""Raindrop.io's CSV export: ``id,title,note,excerpt,url,folder,tags,created,…,favorite``."""

from __future__ import annotations

from shared.imports.formats.base import CsvFormat
from shared.imports.records import MAX_NOTE, Record, clean_text, set_date, split_tags, truthy


class Raindrop(CsvFormat):
    """``id,title,note,excerpt,url,folder,tags,created,cover,highlights,favorite``."""

    name = "raindrop"
    label = "Raindrop.io CSV export"
    columns = (
        "id", "title", "note", "excerpt", "url", "folder", "tags", "created", "cover",
        "highlights", "favorite",
    )  # fmt: skip
    required = ("url", "folder", "tags", "created")

    def record(self, line: int, row: dict[str, str]) -> Record:
        """Read one Raindrop row (highlights: one per line of the column)."""
        record = Record(
            row=line,
            url=row.get("url", ""),
            title=clean_text(row.get("title")),
            tags=split_tags(row.get("tags")),
            note=clean_text(row.get("note"), MAX_NOTE),
            favourite=truthy(row.get("favorite")),
            folder=clean_text(row.get("folder")),
        )
        for part in (row.get("highlights") or "").splitlines():
            text = clean_text(part.removeprefix("Highlight:"), MAX_NOTE)
            if text:
                record.highlights.append({"text": text})
        set_date(record, row.get("created"))
        return record
