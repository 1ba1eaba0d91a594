"""OPML subscription lists: each ``<outline xmlUrl>`` is a feed to subscribe to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from shared.imports import source
from shared.imports.formats.base import Format
from shared.imports.records import BadFile, Record, clean_text


class Opml(Format):
    """``<opml><body><outline text xmlUrl htmlUrl/>…`` (outlines may nest in categories)."""

    name = "opml"
    label = "OPML subscription list"

    def detect(self, start: bytes, text: str) -> int:
        """Sure when the root element is ``<opml``."""
        return 100 if "<opml" in text[:4096].lower() else 0

    def read(self, raw: BinaryIO, max_bytes: int) -> Iterator[Record]:
        """Yield a feed record per outline with an ``xmlUrl``; folders are the categories."""
        categories: list[str | None] = []
        parser = etree.iterparse(
            source.checked(raw, max_bytes),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            huge_tree=True,
        )
        try:
            for event, element in parser:
                if not isinstance(element.tag, str) or element.tag.lower() != "outline":
                    continue
                feed_url = element.get("xmlUrl") or element.get("xmlurl")
                if event == "start":
                    categories.append(None if feed_url else element.get("text"))
                    continue
                categories.pop()
                if feed_url:
                    path = [c for c in categories if c]
                    yield Record(
                        row=element.sourceline or 0,
                        url=feed_url,
                        title=clean_text(element.get("title") or element.get("text")),
                        folder="/".join(path) or None,
                        is_feed=True,
                    )
                element.clear(keep_tail=True)
        except etree.XMLSyntaxError as ex:
            raise BadFile(f"{self.label}: not well-formed XML ({ex.msg})", line=ex.lineno) from None
