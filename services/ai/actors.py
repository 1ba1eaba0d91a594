"""The enrich stage's actor: summarise, categorise, tag and score an article."""

from __future__ import annotations

import threading
import time
from functools import cache

from services.ai.enrich import build_provider, enrich_article
from services.ai.providers import ArticleInput, Provider
from shared import store
from shared.pipeline import ENRICH, stage_actor
from shared.settings import get_settings

_provider_lock = threading.Lock()


@cache
def _built_provider() -> Provider:
    return build_provider(get_settings())


def provider() -> Provider:
    """Return the process's provider, built once from settings."""
    # functools.cache lets every worker thread build its own on a cold start: the lock
    # makes it one provider, one HTTP client and one token counter per process.
    with _provider_lock:
        return _built_provider()


#: Seconds the most used tags are reused before they are read again. Short: tags made by
#: one article should be offered to the next ones, but one GROUP BY per article is a
#: cost the stage feels at high throughput.
POPULAR_TAGS_SECONDS = 2.0
_popular: tuple[float, list[str]] = (float("-inf"), [])
_popular_lock = threading.Lock()


def popular_tags() -> list[str]:
    """Return the most used tags, as read at most POPULAR_TAGS_SECONDS ago."""
    global _popular
    read_at, tags = _popular
    if time.monotonic() - read_at < POPULAR_TAGS_SECONDS:
        return tags
    with _popular_lock:
        if time.monotonic() - _popular[0] >= POPULAR_TAGS_SECONDS:
            _popular = (time.monotonic(), store.popular_tags())
        return _popular[1]


@stage_actor(ENRICH)
def enrich_item(item_id: int) -> None:
    """Enrich the parsed article of a task item's link."""
    link = store.link_of_item(item_id)
    content = store.article_of(link.id)
    article = ArticleInput(
        title=content.title,
        text=content.text,
        language=content.language,
        url=link.url,
        page_type=content.page_type,
    )
    result = enrich_article(provider(), article, popular_tags())
    store.save_enrichment(
        link.id,
        tags=result.tags,
        summary=result.summary,
        category=result.category,
        sentiment=result.sentiment,
        sentiment_score=result.sentiment_score,
        language=result.language,
        provider=result.provider,
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
    )
