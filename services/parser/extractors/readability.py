"""readability-lxml: nearly as good as trafilatura, and wrong on different pages."""

from __future__ import annotations

import logging
from typing import Any

from lxml_html_clean import Cleaner
from readability import Document
from readability.readability import REGEXES

from services.parser.extractors import Extraction
from services.parser.html import parse_document, parse_fragment
from services.parser.structure import blocks_from_html

NAME = "readability"
log = logging.getLogger(__name__)

# readability's own cleaner, except javascript=True: that one rewrites every link of
# the page to drop "javascript:" URLs, which takes a third of readability's time and
# changes no text (the extraction is identical on the benchmark pages).
_CLEANER = Cleaner(
    scripts=True,
    javascript=False,
    comments=True,
    style=True,
    links=True,
    meta=False,
    add_nofollow=False,
    page_structure=False,
    processing_instructions=True,
    embedded=False,
    frames=False,
    forms=False,
    annoying_tags=False,
    remove_unknown_tags=False,
    safe_attrs_only=False,
)


class _Document(Document):
    """readability's Document with the faster cleaner, parsing with this thread's parser."""

    def _parse(self, input: Any) -> Any:
        doc, self.encoding = parse_document(input), "utf-8"
        for element in doc.xpath("//*[@hidden]"):
            element.drop_tree()
        for element in doc.xpath("//*[@style]"):
            if REGEXES["displayNoneRe"].search(element.get("style")):
                element.drop_tree()
        return _CLEANER.clean_html(doc)


def extract(html: str, url: str, *, fast: bool = True) -> Extraction | None:
    """Extract the article of ``html`` with readability's scoring of paragraphs.

    ``fast`` uses the cleaner that leaves links alone; False runs readability as shipped.
    """
    try:
        # No url and no title: readability would make every link absolute, and
        # short_title() parses and cleans the page once more; neither is needed.
        document = _Document(html) if fast else Document(html)
        summary = document.summary(html_partial=True)
        root = parse_fragment(summary) if summary else None
    except Exception as ex:  # a library bug on one page must not fail the page
        log.warning("readability failed on %s: %r", url, ex)
        return None
    if root is None:
        return None
    return Extraction(extractor=NAME, blocks=blocks_from_html(root))
