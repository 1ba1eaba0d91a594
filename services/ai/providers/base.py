"""The provider interface: what goes into an enrichment and what comes out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Sentiment = Literal["positive", "neutral", "negative"]
# How many tags an enrichment carries; a text too short for three may carry fewer.
MIN_TAGS = 3
MAX_TAGS = 5
# Below this many words a text may not hold three distinct keywords.
SHORT_TEXT_WORDS = 50


def min_tags_for(text: str) -> int:
    """Return how many tags an enrichment of ``text`` must carry at least."""
    return MIN_TAGS if len(text.split()) >= SHORT_TEXT_WORDS else 1


@dataclass(frozen=True)
class ArticleInput:
    """A parsed article, as the enrich stage hands it to a provider."""

    title: str
    text: str
    language: str | None
    url: str
    #: What kind of page the text comes from (``content.page_type``: article, product,
    #: forum, documentation, service, listing, collection); None when not known.
    page_type: str | None = None


@dataclass(frozen=True)
class Enrichment:
    """What a provider says about an article, plus what it cost."""

    summary: str
    category: str
    tags: list[str]
    sentiment: Sentiment
    sentiment_score: float
    language: str | None
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    #: Estimated dollars from the price table; None when the model has no price.
    cost_usd: float | None = None


class Provider(Protocol):
    """Something that summarises, categorises, tags and scores an article.

    ``categories`` is the taxonomy the provider chooses from; the enrich stage checks the
    answer against it.
    """

    name: str
    categories: tuple[str, ...]

    def enrich(self, article: ArticleInput, existing_tags: Sequence[str]) -> Enrichment:
        """Return the enrichment of ``article``, reusing ``existing_tags`` where they fit."""
        ...
