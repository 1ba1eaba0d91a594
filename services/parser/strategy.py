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
  (:mod:`services.parser.forum`), authors and dates kept; on other software,
  trafilatura keeps the replies it finds after the first post (its comments);
- services, listings and collections are read whole: their main region without the
  site's furniture (:mod:`services.parser.region`), since trafilatura keeps only their
  longest run of prose; documentation and undeclared articles too when trafilatura
  kept clearly less than that region;
- products add what their structured data describes (:mod:`services.parser.product`)
  when trafilatura misses it;
- a page that is mostly a grid of cards (a listing, a collection, a service's offers)
  gets its cards (:mod:`services.parser.items`) when trafilatura kept few of them; an
  "article" that is one is a listing. On a product page the grid is the shop's other
  products and is left out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml.html import HtmlElement

from services.parser import forum, items, metadata, page_type, product, region
from services.parser.extractors import Extraction
from services.parser.extractors import trafilatura as trafilatura_extractor
from shared.blocks import Block
from shared.urgency import yield_to_urgent

#: A grid of cards is added when it holds this many times the words trafilatura kept.
ITEMS_OVER_TEXT = 2.0
#: The page's whole main region (:mod:`services.parser.region`) is taken over
#: trafilatura's text when that text has fewer words than this share of the region's:
#: on services, listings and collections always, on documentation when trafilatura kept
#: less than all of it, on articles when it kept less than 70 %.
REGION_OVER_TEXT = {
    page_type.SERVICE: float("inf"),
    page_type.LISTING: float("inf"),
    page_type.COLLECTION: float("inf"),
    page_type.DOCUMENTATION: 1.0,
    page_type.ARTICLE: 0.7,
}
#: A region with fewer words than this is a shell (the content is drawn by scripts).
MIN_REGION_WORDS = 30


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
    generic = trafilatura_extractor.extract(
        tree, url, fast=False, with_metadata=False, include_comments=kind == page_type.FORUM
    )
    sources = [_declared(tree, generic)]
    if thread is not None:
        software, blocks = thread
        return PageExtraction(blocks, f"{kind}: posts ({software})", sources)
    blocks = list(generic.blocks) if generic else []
    bound = functools.cache(lambda: page_words(tree))
    whole = _region_instead(tree, kind, blocks, bound)
    # An article is no grid of cards: a page that mostly is one lists things. A product
    # page's grid is the shop's other products.
    wanted = kind != page_type.PRODUCT and (whole is None or kind == page_type.ARTICLE)
    # The cards cannot outweigh the text when the whole page has too few words for it.
    wanted = wanted and ITEMS_OVER_TEXT * items.words_of(blocks) <= bound()
    cards = items.list_items(tree) if wanted else []
    grid = bool(cards) and items.words_of(cards) >= ITEMS_OVER_TEXT * items.words_of(blocks)
    found = page_type.LISTING if grid and kind == page_type.ARTICLE else None
    if whole is not None:
        return PageExtraction(whole, f"{kind}: main region", sources, found)
    method = f"{kind}: trafilatura"
    if grid:
        # The page is mostly a grid of cards that trafilatura judged as links.
        kept = " ".join(block["text"] for block in blocks).lower()
        blocks += [card for card in cards if card["text"].lower() not in kept]
        method += " + list items"
    if structured:
        blocks = product.merge(structured, blocks)
        method += " + structured data"
    return PageExtraction(blocks, method, sources, found)


def _region_instead(
    tree: HtmlElement, kind: str, blocks: list[Block], page_words: Callable[[], int]
) -> list[Block] | None:
    """Return the page's main region when it is to replace trafilatura's ``blocks``.

    ``page_words()`` bounds the region's words: when trafilatura kept so much of the
    page that no region could be large enough, the region is not read.
    """
    if kind not in REGION_OVER_TEXT:
        return None
    share = REGION_OVER_TEXT[kind]
    if share != float("inf") and items.words_of(blocks) >= share * page_words():
        return None
    whole = region.region_blocks(tree)
    size = items.words_of(whole)
    if size >= MIN_REGION_WORDS and items.words_of(blocks) < REGION_OVER_TEXT[kind] * size:
        return whole
    return None


def page_words(tree: HtmlElement) -> int:
    """Return an upper bound of the words any reading of the page's body can hold.

    Every text node's words, plus one per table cell (cells are joined with " | "):
    joining text nodes can merge words, never add any.
    """
    body = tree.find("body")
    root = body if body is not None else tree
    words = sum(len(text.split()) for text in root.itertext())
    return words + int(root.xpath("count(.//td | .//th)"))


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
