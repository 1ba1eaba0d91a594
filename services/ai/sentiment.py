"""The local provider's sentiment: the mean VADER compound score of the text's sentences.

VADER's lexicon ships inside its package, so scoring needs no network access.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.ai.providers.base import Sentiment

# VADER's cost grows faster than linearly with the length of one string, so long
# sentences are scored in pieces, and a huge text is bounded to its first pieces.
SENTIMENT_CHUNK_WORDS = 60
SENTIMENT_MAX_CHUNKS = 2000
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05


class SentimentScorer:
    """Score sentences with VADER, loading its lexicon once."""

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, sentences: Sequence[str]) -> tuple[Sentiment, float]:
        """Return the label and the mean VADER compound score of ``sentences``."""
        chunks = list(_chunks(sentences))[:SENTIMENT_MAX_CHUNKS]
        if not chunks:
            return "neutral", 0.0
        total = sum(self._analyzer.polarity_scores(chunk)["compound"] for chunk in chunks)
        score = round(total / len(chunks), 4)
        if score >= POSITIVE_FROM:
            return "positive", score
        if score <= NEGATIVE_FROM:
            return "negative", score
        return "neutral", score


def _chunks(sentences: Iterable[str]) -> Iterable[str]:
    """Yield ``sentences``, long ones cut into pieces of at most SENTIMENT_CHUNK_WORDS."""
    for sentence in sentences:
        tokens = sentence.split()
        for start in range(0, len(tokens), SENTIMENT_CHUNK_WORDS):
            yield " ".join(tokens[start : start + SENTIMENT_CHUNK_WORDS])
