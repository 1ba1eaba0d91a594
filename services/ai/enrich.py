"""The enrich stage's domain: pick a provider, check what goes in and what comes out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import get_args

from services.ai.providers import MAX_TAGS, MIN_TAGS, ArticleInput, Enrichment, Provider, Sentiment
from services.ai.providers.local import LocalProvider
from shared.errors import ConfigurationError, EnrichmentError, MissingInput
from shared.settings import Settings

# Below this many words a text may not hold three distinct keywords.
SHORT_TEXT_WORDS = 50
SENTIMENTS = frozenset(get_args(Sentiment))


def build_provider(settings: Settings) -> Provider:
    """Return the provider that ``AI_PROVIDER`` (and the OpenAI settings) select."""
    wants_openai = settings.ai_provider == "openai" or (
        settings.ai_provider == "auto"
        and (settings.openai_api_key is not None or settings.openai_base_url is not None)
    )
    if wants_openai:
        reason = (
            "AI_PROVIDER=openai"
            if settings.ai_provider == "openai"
            else "AI_PROVIDER=auto with OPENAI_API_KEY or OPENAI_BASE_URL set"
        )
        raise ConfigurationError(
            f"AI_PROVIDER=openai is not available yet ({reason}); set AI_PROVIDER=local"
        )
    return LocalProvider(settings.categories, settings.summary_sentences)


def enrich_article(
    provider: Provider, article: ArticleInput, existing_tags: Sequence[str]
) -> Enrichment:
    """Enrich ``article`` with ``provider`` and return the checked, tidied result.

    Raises :class:`MissingInput` when the article has no text, and
    :class:`EnrichmentError` when the provider's answer breaks the contract.
    """
    if not article.text.strip():
        raise MissingInput(f"article {article.url} has no text to enrich; parse it first")
    result = provider.enrich(article, existing_tags)
    return _checked(provider, article, result)


def _checked(provider: Provider, article: ArticleInput, result: Enrichment) -> Enrichment:
    """Return ``result`` tidied (spacing, case, duplicates), or raise if it is unusable."""
    where = f"provider {provider.name} on {article.url}"
    summary = result.summary.strip()
    if not summary:
        raise EnrichmentError(f"{where} returned an empty summary")
    by_lowercase = {name.lower(): name for name in provider.categories}
    category = by_lowercase.get(result.category.strip().lower())
    if category is None:
        raise EnrichmentError(
            f"{where} returned category {result.category!r}, "
            f"not one of {', '.join(provider.categories)}"
        )
    tags = _distinct(result.tags)[:MAX_TAGS]
    if len(tags) < MIN_TAGS and len(article.text.split()) >= SHORT_TEXT_WORDS:
        raise EnrichmentError(f"{where} returned {len(tags)} tags, expected {MIN_TAGS} or more")
    if result.sentiment not in SENTIMENTS or not -1.0 <= result.sentiment_score <= 1.0:
        raise EnrichmentError(
            f"{where} returned sentiment {result.sentiment!r} ({result.sentiment_score})"
        )
    return replace(result, summary=summary, category=category, tags=tags)


def _distinct(tags: Sequence[str]) -> list[str]:
    """Return ``tags`` stripped, without blanks or case-insensitive repeats, in order."""
    seen: set[str] = set()
    kept = []
    for tag in tags:
        cleaned = " ".join(tag.split())
        if cleaned and cleaned.lower() not in seen:
            seen.add(cleaned.lower())
            kept.append(cleaned)
    return kept
