"""Omnivore's export: a zip (or, through the CLI, a folder) of ``metadata_*.json`` arrays.

A single ``metadata_N.json`` file is read too. Entries have ``url``, ``title``,
``labels``, ``savedAt``, ``state`` (``Archived``…) and, in some versions, highlights.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from shared.imports.formats.base import Format
from shared.imports.formats.jsonstream import items
from shared.imports.records import (
    MAX_HIGHLIGHTS,
    MAX_NOTE,
    BadFile,
    Record,
    clean_tags,
    clean_text,
    set_date,
)

ZIP_MAGIC = b"PK\x03\x04"
METADATA = re.compile(r"(^|/)metadata_\d+(_to_\d+)?\.json\Z")


class Omnivore(Format):
    """Omnivore's ``metadata_*.json`` arrays, zipped or alone."""

    name = "omnivore"
    label = "Omnivore export"

    def detect(self, start: bytes, text: str) -> int:
        """Sure for a zip of metadata files or an array of entries with ``savedAt``."""
        if start.startswith(ZIP_MAGIC):
            return 100
        stripped = text.lstrip()
        return 80 if stripped.startswith("[") and '"savedAt"' in stripped else 0

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield every entry of every metadata file, in file-name order."""
        raw.seek(0)
        if raw.read(4) != ZIP_MAGIC:
            raw.seek(0)
            yield from self._entries(raw, max_bytes, "", 0)
            return
        raw.seek(0)
        try:
            archive = zipfile.ZipFile(raw)
        except zipfile.BadZipFile as ex:
            raise BadFile(f"{self.label}: not a readable zip ({ex})") from None
        names = sorted((n for n in archive.namelist() if METADATA.search(n)), key=_natural)
        if not names:
            raise BadFile(f"{self.label}: the zip holds no metadata_*.json file")
        budget = max_bytes  # what the members may decompress to, all together
        offset = 0
        for name in names:
            try:
                with archive.open(name) as member:
                    counted = 0
                    for record in self._entries(member, budget, name, offset):  # type: ignore[arg-type]
                        counted += 1
                        yield record
                    offset += counted
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as ex:
                raise BadFile(f"{self.label}: {name} cannot be read from the zip ({ex})") from None
            budget -= archive.getinfo(name).file_size

    def _entries(self, raw: BinaryIO, max_bytes: int, name: str, offset: int) -> Iterator[Record]:
        label = f"{self.label} {name}".strip()
        for number, entry in enumerate(items(raw, max_bytes, "item", label), offset + 1):
            yield self._record(number, entry if isinstance(entry, dict) else {})

    @staticmethod
    def _record(number: int, entry: dict[str, Any]) -> Record:
        state = str(entry.get("state") or "").lower()
        progress = entry.get("readingProgress")
        status = "archived" if state == "archived" else "unread"
        if status == "unread" and isinstance(progress, int | float) and progress >= 100:
            status = "read"
        record = Record(
            row=number,
            url=str(entry.get("url") or ""),
            title=clean_text(entry.get("title")),
            tags=clean_tags(
                label.get("name") if isinstance(label, dict) else label
                for label in entry.get("labels") or []
            ),
            read_status=status,
            note=clean_text(entry.get("note"), MAX_NOTE),
        )
        for highlight in (entry.get("highlights") or [])[:MAX_HIGHLIGHTS]:
            if isinstance(highlight, dict) and clean_text(highlight.get("quote"), MAX_NOTE):
                kept = {"text": clean_text(highlight.get("quote"), MAX_NOTE)}
                annotation = clean_text(highlight.get("annotation"), MAX_NOTE)
                if annotation:
                    kept["note"] = annotation
                record.highlights.append(kept)
        set_date(record, entry.get("savedAt"))
        return record


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
