"""Pocket's CSV export: ``title,url,time_added,tags,status``; tags ``|``-separated."""

from __future__ import annotations

from shared.imports.formats.base import CsvFormat
from shared.imports.records import Record, clean_text, set_date, split_tags

STATUSES = {"unread": "unread", "archive": "archived", "archived": "archived", "read": "read"}


class PocketCsv(CsvFormat):
    """``title,url,time_added,tags,status`` (``status``: ``unread`` or ``archive``)."""

    name = "pocket-csv"
    label = "Pocket CSV export"
    columns = ("title", "url", "time_added", "tags", "status")
    required = ("url", "time_added", "status")

    def record(self, line: int, row: dict[str, str]) -> Record:
        """Read one Pocket row."""
        record = Record(
            row=line,
            url=row.get("url", ""),
            title=clean_text(row.get("title")),
            tags=split_tags(row.get("tags"), "|"),
            read_status=STATUSES.get((row.get("status") or "").strip().lower()),
        )
        set_date(record, row.get("time_added"))
        return record
