"""The enrich stage's actor: summarise, categorise, tag and score an article."""

from __future__ import annotations

from functools import cache

from services.ai.enrich import build_provider, enrich_article
from services.ai.providers import ArticleInput, Provider
from shared import store
from shared.pipeline import ENRICH, stage_actor
from shared.settings import get_settings


@cache
def provider() -> Provider:
    """Return the process's provider, built once from settings."""
    return build_provider(get_settings())


@stage_actor(ENRICH)
def enrich_item(item_id: int) -> None:
    """Enrich the parsed article of a task item's link."""
    link = store.link_of_item(item_id)
    content = store.content_of(link.id)
    article = ArticleInput(
        title=content.title, text=content.text, language=content.language, url=link.url
    )
    result = enrich_article(provider(), article, store.popular_tags())
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
    )
