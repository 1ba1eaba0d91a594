"""Linkwarden's JSON export: collections of links (``collections[].links[]``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from shared.imports.formats.base import Format
from shared.imports.formats.jsonstream import grouped_items
from shared.imports.records import MAX_NOTE, Record, clean_tags, clean_text, set_date


class Linkwarden(Format):
    """Links with ``url``, ``name``, ``description``, ``tags[].name``, ``createdAt``."""

    name = "linkwarden"
    label = "Linkwarden JSON export"

    def detect(self, start: bytes, text: str) -> int:
        """Sure for a JSON object with ``collections``."""
        stripped = text.lstrip()
        return 80 if stripped.startswith("{") and '"collections"' in stripped else 0

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield each link with its collection as its folder."""
        links = grouped_items(raw, max_bytes, "collections", "name", "links", self.label)
        for number, (collection, entry) in enumerate(links, 1):
            yield self._record(number, collection, entry if isinstance(entry, dict) else {})

    @staticmethod
    def _record(number: int, collection: Any, entry: dict[str, Any]) -> Record:
        tags = entry.get("tags") or []
        record = Record(
            row=number,
            url=str(entry.get("url") or ""),
            title=clean_text(entry.get("name")),
            tags=clean_tags(t.get("name") if isinstance(t, dict) else t for t in tags),
            note=clean_text(entry.get("description"), MAX_NOTE),
            folder=clean_text(collection),
            favourite=True if entry.get("pinnedBy") else None,
        )
        set_date(record, entry.get("createdAt"))
        return record
