"""Karakeep's (formerly Hoarder's) JSON export: ``{"bookmarks": [...]}``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from shared.imports.formats.base import Format
from shared.imports.formats.jsonstream import items
from shared.imports.records import MAX_NOTE, Record, clean_tags, clean_text, set_date, truthy


class Karakeep(Format):
    """Bookmarks with ``content.url``, ``title``, ``tags``, ``createdAt`` and ``note``."""

    name = "karakeep"
    label = "Karakeep JSON export"

    def detect(self, start: bytes, text: str) -> int:
        """Sure for a JSON object whose key is ``bookmarks``."""
        stripped = text.lstrip()
        return 80 if stripped.startswith("{") and '"bookmarks"' in stripped[:4096] else 0

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield each bookmark; text notes and uploaded files have no URL to import."""
        for number, entry in enumerate(items(raw, max_bytes, "bookmarks.item", self.label), 1):
            yield self._record(number, entry if isinstance(entry, dict) else {})

    @staticmethod
    def _record(number: int, entry: dict[str, Any]) -> Record:
        found = entry.get("content")
        content: dict[str, Any] = found if isinstance(found, dict) else {}
        url = content.get("url") or entry.get("url") or ""
        kind = content.get("type")
        tags = entry.get("tags") or []
        record = Record(
            row=number,
            url=str(url),
            title=clean_text(entry.get("title") or content.get("title")),
            tags=clean_tags(t.get("name") if isinstance(t, dict) else t for t in tags),
            note=clean_text(entry.get("note"), MAX_NOTE),
            favourite=truthy(entry.get("favourited")),
            read_status="archived" if truthy(entry.get("archived")) else None,
        )
        if not url:
            record.refused = f"no URL (a {kind or 'non-link'} bookmark)"
        set_date(record, entry.get("createdAt"))
        return record
