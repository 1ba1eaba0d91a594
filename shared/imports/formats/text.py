"""Plain text: one URL per line; blank lines and ``#`` comments are skipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from shared.imports import source
from shared.imports.formats.base import Format
from shared.imports.records import Record


class PlainText(Format):
    """A list of URLs, one per line."""

    name = "text"
    label = "list of URLs (one per line)"

    def detect(self, start: bytes, text: str) -> int:
        """Likely when the first line that says anything is a URL."""
        for line in text.splitlines()[:50]:
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            return 10 if stripped.lower().startswith(("http://", "https://")) else 0
        return 0

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield one record per non-blank, non-comment line."""
        for number, line in enumerate(source.text(raw, max_bytes), start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                yield Record(row=number, url=stripped)
