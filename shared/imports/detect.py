"""Recognising an export's format from its content, never from its file name."""

from __future__ import annotations

from typing import BinaryIO

from shared.imports import source
from shared.imports.formats.base import Format
from shared.imports.formats.instapaper import Instapaper
from shared.imports.formats.karakeep import Karakeep
from shared.imports.formats.linkwarden import Linkwarden
from shared.imports.formats.netscape import Netscape
from shared.imports.formats.omnivore import Omnivore
from shared.imports.formats.opml import Opml
from shared.imports.formats.pocket_csv import PocketCsv
from shared.imports.formats.pocket_html import PocketHtml
from shared.imports.formats.raindrop import Raindrop
from shared.imports.formats.readwise import Readwise
from shared.imports.formats.text import PlainText
from shared.imports.records import BadFile

FORMATS: tuple[Format, ...] = (
    PocketCsv(),
    PocketHtml(),
    Netscape(),
    Instapaper(),
    Raindrop(),
    Readwise(),
    Omnivore(),
    Karakeep(),
    Linkwarden(),
    Opml(),
    PlainText(),
)
BY_NAME = {fmt.name: fmt for fmt in FORMATS}


def detect(raw: BinaryIO, *, name: str | None = None) -> Format:
    """Return the format of a seekable export (or the one ``name``d); ``BadFile`` if none."""
    start = source.head(raw)
    if not start.removeprefix(b"\xef\xbb\xbf").strip():
        raise BadFile("the file is empty")
    if name is not None:
        if name not in BY_NAME:
            raise BadFile(f"unknown format {name!r}; known: {', '.join(BY_NAME)}")
        return BY_NAME[name]
    text = source.head_text(start)
    scored = sorted(((fmt.detect(start, text), n, fmt) for n, fmt in enumerate(FORMATS)))
    score, _, best = scored[-1]
    if score > 0:
        return best
    if b"\x00" in start[:1024] or "\ufffd" in text[:1024]:
        what = "binary data or text that is not UTF-8"
    else:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        what = f"its first line is {first[:80]!r}"
    raise BadFile(
        f"not an export kbm can read ({what}); expected one of: "
        + ", ".join(fmt.label for fmt in FORMATS),
        line=1,
    )
