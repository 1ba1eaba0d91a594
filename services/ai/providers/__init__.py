"""AI providers: one module per backend behind the small :class:`Provider` interface."""

from services.ai.providers.base import (
    MAX_TAGS,
    MIN_TAGS,
    ArticleInput,
    Enrichment,
    Provider,
    Sentiment,
)

__all__ = ["MAX_TAGS", "MIN_TAGS", "ArticleInput", "Enrichment", "Provider", "Sentiment"]
