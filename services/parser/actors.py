"""The parse stage's actor: fetch the link's page, extract the article, store it."""

from __future__ import annotations

from services.parser.extract import extract_article
from services.parser.fetch import fetch_page
from shared import store
from shared.pipeline import PARSE, stage_actor
from shared.settings import get_settings


@stage_actor(PARSE)
def parse_item(item_id: int) -> None:
    """Fetch and extract the page of a task item's link."""
    link = store.link_of_item(item_id)
    page = fetch_page(link.url, get_settings())
    article = extract_article(page.html, page.final_url)
    store.save_content(
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
    )
