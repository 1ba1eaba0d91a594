"""The enrich stage's domain: pick a provider, check what goes in and what comes out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import get_args

from services.ai.providers import (
    MAX_TAGS,
    MIN_TAGS,
    SHORT_TEXT_WORDS,
    ArticleInput,
    Enrichment,
    Provider,
    Sentiment,
)
from services.ai.providers.local import LocalProvider
from services.ai.vocabulary import vocabulary_of
from shared.errors import EnrichmentError, KbmError, MissingInput, UnusableEnrichment
from shared.settings import Settings

__all__ = ["SHORT_TEXT_WORDS", "build_provider", "enrich_article", "wants_openai"]

SENTIMENTS = frozenset(get_args(Sentiment))


def wants_openai(settings: Settings) -> bool:
    """Tell whether settings select the ``openai`` provider.

    ``AI_PROVIDER=openai`` does; so does ``auto`` (the default) once ``OPENAI_API_KEY`` or
    ``OPENAI_BASE_URL`` is set. Otherwise the offline ``local`` provider runs.
    """
    if settings.ai_provider == "openai":
        return True
    has_key = bool(settings.openai_api_key and settings.openai_api_key.get_secret_value().strip())
    has_url = bool((settings.openai_base_url or "").strip())
    return settings.ai_provider == "auto" and (has_key or has_url)


def build_provider(settings: Settings) -> Provider:
    """Return the provider that ``AI_PROVIDER`` (and the OpenAI settings) select."""
    if wants_openai(settings):
        # Imported here: the local provider must not need the SDK.
        from services.ai.providers.openai import build_openai_provider

        return build_openai_provider(settings)
    return LocalProvider(settings.categories, settings.summary_sentences)


def enrich_article(
    provider: Provider, article: ArticleInput, existing_tags: Sequence[str]
) -> Enrichment:
    """Enrich ``article`` with ``provider`` and return the checked, tidied result.

    Raises :class:`MissingInput` when the article has no text, and
    :class:`EnrichmentError` when the provider's answer breaks the contract
    (:class:`UnusableEnrichment` when the provider answers the same every time).
    """
    if not article.text.strip():
        raise MissingInput(f"article {article.url} has no text to enrich; parse it first")
    result = provider.enrich(article, existing_tags)
    return _checked(provider, article, result, existing_tags)


def _checked(
    provider: Provider, article: ArticleInput, result: Enrichment, existing_tags: Sequence[str]
) -> Enrichment:
    """Return ``result`` tidied, its tags the vocabulary's, or raise if it is unusable.

    Tags go through :meth:`~services.ai.vocabulary.Vocabulary.resolve` whichever the
    provider: another form of an existing tag becomes it, a new tag must be a topic.
    """
    where = f"provider {provider.name} on {article.url}"
    summary = result.summary.strip()
    if not summary:
        raise _unusable(provider, f"{where} returned an empty summary")
    by_lowercase = {name.lower(): name for name in provider.categories}
    category = by_lowercase.get(result.category.strip().lower())
    if category is None:
        raise _unusable(
            provider,
            f"{where} returned category {result.category!r}, "
            f"not one of {', '.join(provider.categories)}",
        )
    vocabulary = vocabulary_of(existing_tags)
    given = len(_distinct(result.tags))
    # A settled vocabulary lets an article carry fewer tags rather than new ones.
    expected = 1 if vocabulary.settled else MIN_TAGS
    if given < expected and len(article.text.split()) >= SHORT_TEXT_WORDS:
        raise _unusable(
            provider,
            f"{where} returned {given} tag{'' if given == 1 else 's'}, expected {expected} or more",
        )
    # The vocabulary may drop a tag that is no topic: fewer tags, but no generic ones.
    language = result.language or article.language
    text = f"{article.title}\n{article.text}"
    tags = vocabulary.resolve(result.tags, text, language)[:MAX_TAGS]
    if result.sentiment not in SENTIMENTS or not -1.0 <= result.sentiment_score <= 1.0:
        raise _unusable(
            provider, f"{where} returned sentiment {result.sentiment!r} ({result.sentiment_score})"
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


def _unusable(provider: Provider, message: str) -> KbmError:
    """Return the error of an answer that breaks the contract.

    A model may answer better when asked again (``EnrichmentError``, retried); the
    offline provider answers the same every time, so its error is final.
    """
    if getattr(provider, "deterministic", False):
        return UnusableEnrichment(message)
    return EnrichmentError(message)
