"""Netscape bookmark files (every browser's and most services' export).

``<DT><A HREF ADD_DATE TAGS>title</A>`` entries, each optionally followed by a ``<DD>``
note, under ``<H3>`` folders nested with ``<DL>``: the folder path becomes the link's
folder and each folder name one of its tags.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from shared.imports.formats.base import Format
from shared.imports.formats.htmlstream import Token, tokens
from shared.imports.records import MAX_NOTE, Record, clean_tags, clean_text, set_date, split_tags

#: Tags that end a ``<DD>`` note (which has no end tag of its own).
NOTE_ENDS = frozenset({"dt", "dl", "dd", "h3", "a"})


class Netscape(Format):
    """``<!DOCTYPE NETSCAPE-Bookmark-file-1>``."""

    name = "netscape"
    label = "Netscape bookmark file"

    def detect(self, start: bytes, text: str) -> int:
        """Sure when the doctype says so; likely for ``<DT><A HREF`` lists."""
        upper = text[:4096].upper()
        if "NETSCAPE-BOOKMARK-FILE" in upper:
            return 100
        return 20 if "<DT><A HREF" in upper.replace(" ", "") else 0

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield each bookmark with its folder path, tags and note."""
        folders: list[str | None] = []
        heading: str | None = None
        capture: list[str] | None = None  # text of the H3, A or DD being read
        anchor: Token | None = None
        pending: Record | None = None
        in_note = False
        for token in tokens(raw, max_bytes):
            if token.kind == "text":
                if capture is not None:
                    capture.append(token.text)
                continue
            if in_note and (token.tag in NOTE_ENDS or token.kind == "end"):
                if pending is not None and capture is not None:
                    pending.note = clean_text("".join(capture), MAX_NOTE)
                in_note, capture = False, None
            if token.kind == "start":
                if token.tag in ("dt", "dl") and pending is not None:
                    yield pending
                    pending = None
                if token.tag == "dl":
                    folders.append(heading)
                    heading = None
                elif token.tag in ("h3", "a"):
                    capture, anchor = [], token
                elif token.tag == "dd" and pending is not None:
                    capture, in_note = [], True
            elif token.tag == "h3" and capture is not None:
                heading = clean_text("".join(capture))
                capture = None
            elif token.tag == "a" and anchor is not None and capture is not None:
                if pending is not None:
                    yield pending
                path = [name for name in folders if name]
                pending = self._record(anchor, "".join(capture), path)
                capture, anchor = None, None
            elif token.tag == "dl":
                if pending is not None:
                    yield pending
                    pending = None
                if folders:
                    folders.pop()
        if pending is not None:
            yield pending

    @staticmethod
    def _record(anchor: Token, title: str, path: list[str]) -> Record:
        record = Record(
            row=anchor.line,
            url=anchor.attrs.get("href", ""),
            title=clean_text(title),
            tags=clean_tags([*path, *split_tags(anchor.attrs.get("tags"))]),
            folder="/".join(path) or None,
        )
        set_date(record, anchor.attrs.get("add_date"))
        return record
