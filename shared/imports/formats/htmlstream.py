"""Reading HTML exports as a stream of tags with the standard library's tokenizer.

Bookmark files are tag soup: ``<DT>`` and ``<DD>`` are never closed and ``<DL><p>``
leaves paragraphs open. A tree builder has to guess where each element ends (and
libxml2's incremental HTML parser nests every unclosed ``<DT>`` in the one before, so it
stops at its depth limit after a few hundred bookmarks). ``html.parser`` only
tokenizes: it reports each start tag, end tag and text as it is read (entities
decoded), the formats keep their own little state, and nothing read stays in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import BinaryIO

from shared.imports import source

CHUNK = 64 * 1024


@dataclass
class Token:
    """A start tag (``attrs`` lower-cased), an end tag, or text; ``line`` where it began."""

    kind: str  # "start" | "end" | "text"
    tag: str = ""
    line: int = 0
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""


class _Tokens(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        self.tokens.append(Token("start", tag.lower(), self.getpos()[0], values))

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(Token("end", tag.lower(), self.getpos()[0]))

    def handle_data(self, data: str) -> None:
        self.tokens.append(Token("text", line=self.getpos()[0], text=data))


def tokens(raw: BinaryIO, max_bytes: int) -> Iterator[Token]:
    """Yield the tokens of an HTML file, checked as UTF-8 text, a chunk at a time."""
    stream = source.text(raw, max_bytes)
    parser = _Tokens()
    while chunk := stream.read(CHUNK):
        parser.feed(chunk)
        yield from parser.tokens
        parser.tokens.clear()
    parser.close()
    yield from parser.tokens
