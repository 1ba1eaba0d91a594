"""newspaper4k: slower, consulted only when trafilatura and readability disagree wholly.

Configured never to fetch: no image downloads, no meta-refresh or "read more" follow-up.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from services.parser.extractors import Extraction
from shared.blocks import Block

NAME = "newspaper4k"
log = logging.getLogger(__name__)


def extract(html: str, url: str, *, language: str | None = None) -> Extraction | None:
    """Extract the article of ``html``; ``language`` picks newspaper's stop words.

    Without ``language`` newspaper reads the page's own declaration.
    """
    try:
        try:
            article = _parse(html, url, language)
        except ImportError:
            # Some languages need extra packages (Japanese: tinysegmenter); English
            # stop words still find the text block.
            article = _parse(html, url, "en")
    except Exception as ex:  # a library bug on one page must not fail the page
        log.warning("newspaper4k failed on %s: %r", url, ex)
        return None
    if not article.text.strip():
        return None
    # newspaper's text is its real output (its article_html differs from it and scores
    # lower); it separates paragraphs with a blank line and keeps no headings.
    blocks: list[Block] = [
        {"type": "paragraph", "text": " ".join(part.split())}
        for part in article.text.split("\n\n")
        if part.strip()
    ]
    published = article.publish_date.date().isoformat() if article.publish_date else None
    return Extraction(
        extractor=NAME,
        blocks=blocks,
        title=" ".join((article.title or "").split()),
        authors=list(article.authors),
        date=published,
        image=article.top_image or None,
    )


def _parse(html: str, url: str, language: str | None) -> Any:
    # Imported on first use: it is needed on few pages and takes a while to import; its
    # warning that nltk is missing concerns summaries, which the parser does not use.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import newspaper

    config = newspaper.Config()
    config.fetch_images = False
    config.follow_meta_refresh = False
    config.memorize_articles = False
    config.disable_category_cache = True
    if language:
        config.language = language
    article = newspaper.Article(url, config=config, language=language)
    article.download(input_html=html, ignore_read_more=True)
    article.parse()
    return article
