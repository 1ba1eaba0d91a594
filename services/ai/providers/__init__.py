"""AI providers: one module per backend behind the small :class:`Provider` interface."""

from services.ai.providers.base import ArticleInput, Enrichment, Provider, Sentiment

__all__ = ["ArticleInput", "Enrichment", "Provider", "Sentiment"]
