"""The article benchmark's pages that are not in English, and how to read one.

The pages' folder (``../shared/data/pages``) has no list of languages: these were read
off the texts themselves. The German page declares ``lang="en"``, the Portuguese one
declares nothing; the Korean and Italian sites' pages in the folder are in English.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from services.parser import metadata
from services.parser.charsets import decode_html
from services.parser.html import parse_page

#: Page id (its first 8 characters) -> the language its article is written in.
NON_ENGLISH_PAGES = {
    "11ea381a": "pt",
    "3c6d3381": "ru",
    "57b4dafd": "de",
    "7837c9d6": "id",
    "85439e26": "ja",
}


@dataclass(frozen=True)
class LanguagePage:
    """A saved page: its address, HTML, expected article text, title and languages."""

    page_id: str
    url: str
    html: str
    text: str
    title: str
    declared: str | None
    language: str


def load_language_pages(folder: Path) -> list[LanguagePage]:
    """Return the non-English pages of the folder, their titles read from the HTML."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, entry in expected.items():
        language = NON_ENGLISH_PAGES.get(page_id[:8])
        if language is None:
            continue
        html = decode_html(gzip.decompress((folder / f"{page_id}.html.gz").read_bytes()))
        tree = parse_page(html)
        assert tree is not None, page_id
        titles = metadata.page_titles(tree)
        pages.append(
            LanguagePage(
                page_id=page_id,
                url=entry["url"],
                html=html,
                text=entry["articleBody"],
                title=titles[0] if titles else "",
                declared=metadata.declared_language(tree),
                language=language,
            )
        )
    assert len(pages) == len(NON_ENGLISH_PAGES), "a non-English page is missing"
    return pages
