"""Turn a fetched HTML page into an article: blocks, text and what is known about it.

First the page's type is read (:mod:`services.parser.page_type`: article, forum,
product, collection, listing, documentation, service). A page that says it is an
article is read by trafilatura and readability-lxml, and
:mod:`services.parser.combine` keeps what they agree on (newspaper4k referees the rare
pages where they share nothing; when trafilatura kept a small share of the page, it is
asked again with its own fallbacks); every other page is read with the strategy of its
type (:mod:`services.parser.strategy`). Every library works on HTML we fetched
ourselves and is never given a chance to fetch anything: no images, feeds or
follow-up pages.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from lxml.html import HtmlElement

from services.parser import metadata, page_type
from services.parser.combine import combine
from services.parser.extractors import Extraction
from services.parser.extractors import newspaper as newspaper_extractor
from services.parser.extractors import readability as readability_extractor
from services.parser.extractors import trafilatura as trafilatura_extractor
from services.parser.html import parse_page
from services.parser.items import words_of
from services.parser.strategy import PageExtraction, extract_typed, page_words
from shared.blocks import Block
from shared.errors import ExtractionError
from shared.urgency import yield_to_urgent

# Chinese, Japanese and Korean characters count as one word each, as word processors do.
_WORDS = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
    r"|[^\s\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+"
)
_TOKEN = re.compile(r"\w+")
#: The ensemble's article is trafilatura's when the agreement keeps less than this share
#: of its words (on the article benchmark it keeps 0.61 or more).
KEPT_AT_LEAST = 0.5

#: A declared article looks cut short when the ensemble kept fewer words than this and
#: trafilatura (read without its fallbacks) less than SHORT_SHARE of the page's words;
#: trafilatura is then asked again with its fallbacks, and that reading is taken when it
#: holds RESCUE_OVER times the words of the ensemble's.
SHORT_WORDS = 200
SHORT_SHARE = 0.15
RESCUE_OVER = 2.0

#: The page a worker extracts when it starts (:func:`warm_up`); its language is detected,
#: so the language model is loaded too.
_WARM_UP_PARAGRAPHS = (
    "A reading list grows one saved link at a time, and every link deserves a clean copy "
    "of its article, with the navigation, the advertising and the comments left out.",
    "The parser fetches the page, reads it with several extractors and keeps the text "
    "they agree on, so that the summary and the tags start from the article itself.",
    "Each article then reaches the knowledge base with its title, its authors, its date "
    "and its language, ready to be searched, filtered and read again later on.",
)
_WARM_UP_PAGE = (
    "<html><head><title>Warming up the parser</title></head><body><article>"
    "<h1>Warming up the parser</h1>"
    + "".join(f"<p>{text}</p>" for text in _WARM_UP_PARAGRAPHS)
    + "</article></body></html>"
)


@dataclass(frozen=True)
class Article:
    """The readable content of a page and what is known about it."""

    title: str
    text: str
    authors: list[str]
    published_at: datetime.date | None
    language: str | None
    top_image: str | None
    word_count: int
    content_hash: str
    blocks: list[Block] = field(default_factory=list)
    canonical_url: str | None = None
    #: Which extractors produced the blocks, e.g. "trafilatura confirmed by readability".
    method: str = ""
    #: What kind of page it is (one of ``page_type.PAGE_TYPES``).
    page_type: str = page_type.ARTICLE


def extract_article(html: str, url: str) -> Article:
    """Extract the article of ``html``, the page found at ``url``.

    Raise :class:`ExtractionError` when the page holds no article text.
    """
    # Checkpoints between the CPU-bound steps: bulk work lets an urgent page run alone.
    yield_to_urgent()
    tree = parse_page(html)
    if tree is None:
        raise ExtractionError(f"no article text found in {url}: the HTML does not parse")
    # Read before any extractor runs: what the page declares is the most reliable.
    declared_language = metadata.declared_language(tree)
    canonical = metadata.canonical_url(tree, url)
    titles = metadata.page_titles(tree)
    kind = page_type.classify(tree, url)

    if kind.declared_article:
        result = _ensemble(tree, html, url, titles, declared_language)
    else:
        result = extract_typed(tree, url, kind.page_type)
        known = [found.title for found in result.sources if found.title] + titles
        result = dataclasses.replace(result, blocks=_after_title(result.blocks, known))
    if not result.blocks:
        raise ExtractionError(f"no article text found in {url}")

    blocks = result.blocks
    text = "\n\n".join(block["text"] for block in blocks)
    # Metadata from the first extractor that has it: trafilatura's is the most complete.
    sources = result.sources
    title = next((found.title for found in sources if found.title), "")
    dates = (metadata.parse_date(found.date) for found in sources)
    images = (metadata.http_url(found.image, url) for found in sources)
    return Article(
        title=title or (titles[0] if titles else blocks[0]["text"][:200]),
        text=text,
        authors=next((found.authors for found in sources if found.authors), []),
        published_at=next((date for date in dates if date), None),
        language=metadata.article_language(text, declared_language),
        top_image=next((image for image in images if image), None),
        word_count=word_count(text),
        content_hash=content_hash(text),
        blocks=blocks,
        canonical_url=canonical,
        method=result.method,
        page_type=result.page_type or kind.page_type,
    )


def _ensemble(
    tree: HtmlElement, html: str, url: str, titles: list[str], declared_language: str | None
) -> PageExtraction:
    """Return the article trafilatura and readability agree on (see ``combine``)."""
    yield_to_urgent()
    primary = trafilatura_extractor.extract(tree, url)
    yield_to_urgent()
    secondary = readability_extractor.extract(html, url)
    referee: list[Extraction] = []

    def ask_referee() -> Extraction | None:
        yield_to_urgent()
        found = newspaper_extractor.extract(html, url, language=declared_language)
        referee.extend([found] if found else [])
        return found

    known_titles = [found.title for found in (primary, secondary) if found and found.title]
    known_titles += titles
    result = combine(
        _without_title(primary, known_titles), _without_title(secondary, known_titles), ask_referee
    )
    sources = [found for found in (primary, secondary, *referee) if found]
    chosen = PageExtraction(result.blocks, result.method, sources) if result else None
    trimmed = _without_title(primary, known_titles)
    if (
        chosen
        and trimmed
        and word_count(_text(chosen.blocks)) < KEPT_AT_LEAST * word_count(trimmed.text)
    ):
        # The two agreed on a sliver of trafilatura's text: not the article's edges.
        chosen = PageExtraction(trimmed.blocks, "trafilatura (agreement too small)", sources)
    fuller = _rescue(tree, url, primary, chosen.blocks if chosen else [], known_titles)
    if fuller:
        return PageExtraction(fuller, "trafilatura with its fallbacks (cut short)", sources)
    return chosen or PageExtraction([], "nothing found", sources)


def _rescue(
    tree: HtmlElement,
    url: str,
    primary: Extraction | None,
    blocks: list[Block],
    titles: list[str],
) -> list[Block] | None:
    """Return trafilatura's reading with its fallbacks when the article looks cut short.

    The ensemble's trafilatura skips its fallbacks (readability's port, jusText) to save
    time; on the rare page where the ensemble kept a few words and trafilatura a small
    share of the page, they often find the rest.
    """
    if words_of(blocks) >= SHORT_WORDS:
        return None
    if primary and words_of(primary.blocks) >= SHORT_SHARE * page_words(tree):
        return None
    yield_to_urgent()
    fuller = _without_title(
        trafilatura_extractor.extract(tree, url, fast=False, with_metadata=False), titles
    )
    if fuller and words_of(fuller.blocks) >= RESCUE_OVER * words_of(blocks):
        return fuller.blocks
    return None


def _text(blocks: list[Block]) -> str:
    return "\n\n".join(block["text"] for block in blocks)


def warm_up() -> Article:
    """Extract a built-in page once, loading what extraction loads on first use.

    The language model (fastText's, 0.1 s) loads on the first page; the extractors set
    themselves up on their first page too. A worker runs this before it takes messages,
    so no user's link pays for it.
    """
    return extract_article(_WARM_UP_PAGE, "https://warm-up.invalid/")


def content_hash(text: str) -> str:
    """Return the sha256 hex digest of ``text`` normalised (Unicode NFKC, whitespace)."""
    normalised = " ".join(unicodedata.normalize("NFKC", text).split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def word_count(text: str) -> int:
    """Return the number of words of ``text``, each CJK character counting as one."""
    return len(_WORDS.findall(text))


def _without_title(extraction: Extraction | None, titles: list[str]) -> Extraction | None:
    """Drop the leading blocks that repeat the page's title: it is stored on its own."""
    if extraction is None:
        return None
    return dataclasses.replace(extraction, blocks=_after_title(extraction.blocks, titles))


def _after_title(blocks: list[Block], titles: list[str]) -> list[Block]:
    """Return ``blocks`` without the leading ones that repeat one of ``titles``."""
    known = {_tokens(title) for title in titles if _tokens(title)}
    while len(blocks) > 1 and _tokens(blocks[0]["text"]) in known:
        blocks = blocks[1:]
    return blocks


def _tokens(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))
