"""The parse stage's actor: fetch the link's page, extract the article, store it."""

from __future__ import annotations

import logging

from services.parser.extract import extract_article
from services.parser.fetch import fetch_page
from shared import store
from shared.pipeline import PARSE, stage_actor
from shared.settings import get_settings

log = logging.getLogger(__name__)


@stage_actor(PARSE)
def parse_item(item_id: int) -> None:
    """Fetch and extract the page of a task item's link."""
    link = store.link_of_item(item_id)
    page = fetch_page(link.url, get_settings())
    article = extract_article(page.html, page.final_url)
    duplicate_of = store.save_content(
        link.id,
        final_url=page.final_url,
        title=article.title,
        text=article.text,
        authors=article.authors,
        published_at=article.published_at,
        language=article.language,
        top_image=article.top_image,
        word_count=article.word_count,
        content_hash=article.content_hash,
        blocks=article.blocks,
        canonical_url=article.canonical_url,
    )
    if duplicate_of is not None:
        # Stored all the same: the link view shows content.duplicate_of to the user.
        log.info("link %s (%s) holds the same article as link %s", link.id, link.url, duplicate_of)
    log.debug("link %s extracted by %s: %s words", link.id, article.method, article.word_count)
