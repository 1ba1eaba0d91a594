"""AI providers: one module per backend behind the small :class:`Provider` interface."""

from services.ai.providers.base import (
    MAX_TAGS,
    MIN_TAGS,
    SHORT_TEXT_WORDS,
    ArticleInput,
    Enrichment,
    Provider,
    Sentiment,
    min_tags_for,
)

__all__ = [
    "MAX_TAGS",
    "MIN_TAGS",
    "SHORT_TEXT_WORDS",
    "ArticleInput",
    "Enrichment",
    "Provider",
    "Sentiment",
    "min_tags_for",
]
