"""Pocket's older HTML export: ``<h1>Unread</h1>`` / ``<h1>Read Archive</h1>`` lists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from shared.imports.formats.base import Format
from shared.imports.formats.htmlstream import Token, tokens
from shared.imports.records import Record, clean_text, set_date, split_tags


class PocketHtml(Format):
    """``<a href time_added tags>`` entries; the heading above says unread or archived."""

    name = "pocket-html"
    label = "Pocket HTML export"

    def detect(self, start: bytes, text: str) -> int:
        """Sure with Pocket's title or headings; never a Netscape file."""
        lowered = text[:8192].lower()
        if "netscape-bookmark-file" in lowered:
            return 0
        if "<title>pocket export</title>" in lowered:
            return 100
        if "<h1>unread</h1>" in lowered or "<h1>read archive</h1>" in lowered:
            return 90
        return 0

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield each link with the status of the list it is in."""
        status: str | None = None
        capture: list[str] | None = None
        opened: Token | None = None
        for token in tokens(raw, max_bytes):
            if token.kind == "text":
                if capture is not None:
                    capture.append(token.text)
            elif token.kind == "start" and token.tag in ("h1", "a"):
                capture, opened = [], token
            elif token.kind == "end" and capture is not None and opened is not None:
                text = "".join(capture)
                if token.tag == "h1" and opened.tag == "h1":
                    status = "archived" if "archive" in text.lower() else "unread"
                elif token.tag == "a" and opened.tag == "a":
                    yield self._record(opened, text, status)
                capture, opened = None, None

    @staticmethod
    def _record(anchor: Token, title: str, status: str | None) -> Record:
        record = Record(
            row=anchor.line,
            url=anchor.attrs.get("href", ""),
            title=clean_text(title),
            tags=split_tags(anchor.attrs.get("tags")),
            read_status=status,
        )
        set_date(record, anchor.attrs.get("time_added"))
        return record
