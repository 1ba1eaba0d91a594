"""Extract a page that is not a plain article with the strategy that fits its type.

The ensemble of :mod:`services.parser.combine` keeps what trafilatura and readability
agree on: right for news, where whatever only one of them saw at the edges is a teaser
or a "related stories" box. Outside articles that rule throws content away (the rest
of a thread, the entries of a list, a product's specifications), so other pages are
read differently:

- every type starts from trafilatura with its own fallbacks (``fast=False``), tables
  kept: on the WCXB development split that alone beats the ensemble on every type but
  articles;
- forum threads are read post by post from the forum software's markup
  (:mod:`services.parser.forum`), authors and dates kept;
- products add what their structured data describes (:mod:`services.parser.product`)
  when trafilatura misses it;
- a page that is mostly a grid of cards (a listing, a collection, a service's offers)
  gets its cards (:mod:`services.parser.items`) when trafilatura kept few of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml.html import HtmlElement

from services.parser import forum, items, metadata, page_type, product
from services.parser.extractors import Extraction
from services.parser.extractors import trafilatura as trafilatura_extractor
from shared.blocks import Block
from shared.urgency import yield_to_urgent

#: A grid of cards is added when it holds this many times the words trafilatura kept.
ITEMS_OVER_TEXT = 2.0


@dataclass(frozen=True)
class PageExtraction:
    """The blocks chosen for a page, how, and the extraction that gave the metadata."""

    blocks: list[Block]
    method: str
    sources: list[Extraction] = field(default_factory=list)
    #: The page's type when the extraction showed it better than the classifier did.
    page_type: str | None = None


def extract_typed(tree: HtmlElement, url: str, kind: str) -> PageExtraction:
    """Extract a page of type ``kind`` (anything but a strong article) from ``tree``."""
    thread = forum.thread_blocks(tree) if kind == page_type.FORUM else None
    structured = product.product_blocks(tree) if kind == page_type.PRODUCT else []
    yield_to_urgent()
    generic = trafilatura_extractor.extract(tree, url, fast=False, with_metadata=False)
    sources = [_declared(tree, generic)]
    if thread is not None:
        software, blocks = thread
        return PageExtraction(blocks, f"{kind}: posts ({software})", sources)
    blocks = list(generic.blocks) if generic else []
    method = f"{kind}: trafilatura"
    cards = items.list_items(tree)
    if cards and items.words_of(cards) >= ITEMS_OVER_TEXT * items.words_of(blocks):
        # The page is mostly a grid of cards that trafilatura judged as links.
        kept = " ".join(block["text"] for block in blocks).lower()
        blocks += [card for card in cards if card["text"].lower() not in kept]
        method += " + list items"
        if kind == page_type.ARTICLE:
            # An article is no grid of cards: a page that is one lists things.
            return PageExtraction(blocks, method, sources, page_type.LISTING)
    if structured:
        blocks = product.merge(structured, blocks)
        method += " + structured data"
    return PageExtraction(blocks, method, sources)


def _declared(tree: HtmlElement, generic: Extraction | None) -> Extraction:
    """Return the metadata the page declares, as an extraction (blocks from ``generic``)."""
    titles = metadata.page_titles(tree)
    return Extraction(
        extractor="declared metadata",
        blocks=list(generic.blocks) if generic else [],
        title=titles[0] if titles else "",
        authors=metadata.declared_authors(tree),
        date=metadata.declared_date(tree),
        image=metadata.declared_image(tree),
    )
