"""The offline provider: TextRank summary and keyphrase tags, lexicon category, VADER sentiment.

The summary is the text's most central sentences (TextRank, nudged towards the lead and
the title); tags are its keyphrases, ranked by frequency and TextRank centrality, the
tags already in use first; the category is the taxonomy entry whose keyword lexicon the
text, and above all its keyphrases, use most. The language is detected from the text
(the one the article declares counts only when the text is too short to tell), and
decides the stopwords and how Chinese and Japanese are cut into words. Everything it
needs ships inside the installed packages (VADER's lexicon, fastText's language model,
the stopword lists, the Chinese and Japanese dictionaries), so it runs without network
access, and the same input always gives the same output.

This module holds the provider; its parts live beside the other ai modules:
:mod:`~services.ai.analysis` (the text cut up once), :mod:`~services.ai.summary`,
:mod:`~services.ai.keyphrases`, :mod:`~services.ai.taxonomy` and
:mod:`~services.ai.sentiment`.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.ai.analysis import ArticleText
from services.ai.keyphrases import keyphrase_tags
from services.ai.providers.base import ArticleInput, Enrichment, Sentiment
from services.ai.sentiment import SentimentScorer
from services.ai.summary import extractive_summary
from services.ai.taxonomy import Taxonomy
from services.ai.text import detect_language, join_words, stopwords_for

MODEL = "local-extractive"


class LocalProvider:
    """Enrich articles offline and deterministically, without any model download."""

    name = "local"
    model = MODEL
    #: The same article gets the same answer: an unusable one is not asked for again.
    deterministic = True

    def __init__(self, categories: Sequence[str], summary_sentences: int) -> None:
        if not categories:
            raise ValueError("categories must name at least one category")
        if summary_sentences < 1:
            raise ValueError("summary_sentences must be at least 1")
        self.categories = tuple(categories)
        self.summary_sentences = summary_sentences
        self._sentiment = SentimentScorer()
        self._taxonomy = Taxonomy(self.categories)

    def enrich(self, article: ArticleInput, existing_tags: Sequence[str]) -> Enrichment:
        """Return the summary, category, tags, sentiment and language of ``article``."""
        language = self.detect_language(article.text, article.language)
        text = ArticleText.of(article, stopwords_for(language), language)
        label, score = self.sentiment([article.title, *text.sentences])
        return Enrichment(
            summary=self.summarize(text, article.page_type),
            category=self.categorize(text),
            tags=self.tag(text, existing_tags),
            sentiment=label,
            sentiment_score=score,
            language=language,
            provider=self.name,
            model=self.model,
            prompt_tokens=0,
            completion_tokens=0,
            cost_usd=0.0,
        )

    def summarize(self, text: ArticleText, page_type: str | None = None) -> str:
        """Return the ``summary_sentences`` most central sentences, in the order of the text.

        ``page_type`` (the content's) decides whether the lead weighs more.
        """
        return extractive_summary(text, self.summary_sentences, page_type)

    def tag(self, text: ArticleText, existing_tags: Sequence[str]) -> list[str]:
        """Return 3 to 5 keyphrase tags, preferring ``existing_tags`` in their own spelling.

        A phrase of Chinese or Japanese words is written as those languages write it,
        without spaces.
        """
        return [join_words(tag.split(" ")) for tag in keyphrase_tags(text, existing_tags)]

    def categorize(self, text: ArticleText) -> str:
        """Return the category whose keywords the text, and its keyphrases, use most."""
        return self._taxonomy.categorize(text)

    def sentiment(self, sentences: Sequence[str]) -> tuple[Sentiment, float]:
        """Return the label and the mean VADER compound score of ``sentences``."""
        return self._sentiment.score(sentences)

    def detect_language(self, text: str, declared: str | None = None) -> str | None:
        """Return the language of ``text``; ``declared`` counts only when it is unsure."""
        return detect_language(text, declared)
