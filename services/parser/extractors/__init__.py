"""The article extractors the parser combines, each behind the same small function.

Every module here exposes ``extract(...) -> Extraction | None``: the page's blocks and
what the library knows of its metadata, or None when the library finds no text or
fails. A failing library never fails the page while another one succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.blocks import Block


@dataclass(frozen=True)
class Extraction:
    """What one extractor found in a page."""

    extractor: str
    blocks: list[Block]
    title: str = ""
    authors: list[str] = field(default_factory=list)
    #: The publication date as the library gives it (ISO 8601 when known).
    date: str | None = None
    image: str | None = None

    @property
    def text(self) -> str:
        """Return the blocks' text, one blank line between blocks."""
        return "\n\n".join(block["text"] for block in self.blocks)
