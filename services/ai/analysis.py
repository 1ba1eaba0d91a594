"""An article read once for the local provider: sentences, words, content words, ranks.

:class:`ArticleText` cuts an article up a single time for every ranking that follows (the
summary, the tags, the category), with the TextRank centrality of its content words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.ai.providers.base import ArticleInput
from services.ai.text import is_content, singular, split_sentences, words
from services.ai.textrank import rank_words

# Below this many distinct words every word is a node of the word graph; above, only
# recurring ones and the title's (a word seen once is no subject of a long text).
SMALL_VOCABULARY = 60


@dataclass(frozen=True)
class ArticleText:
    """An article cut up once for every ranking: sentences, words, content words, ranks."""

    sentences: list[str]
    sentence_words: list[list[str]]
    #: Per sentence, its content words in singular form (the words that carry meaning).
    content: list[list[str]]
    title_words: list[str]
    title_content: list[str]
    stopwords: frozenset[str]
    #: TextRank centrality of content words, from 0 to 1 (the most central word).
    word_ranks: dict[str, float]
    #: The language the text was cut up as (its code), None when unknown.
    language: str | None = None

    @classmethod
    def of(
        cls, article: ArticleInput, stopwords: frozenset[str], language: str | None = None
    ) -> ArticleText:
        """Return ``article`` cut up as a text in ``language``, with its words ranked."""
        sentences = split_sentences(article.text)
        sentence_words = [words(sentence, language) for sentence in sentences]
        content = [content_keys(found, stopwords) for found in sentence_words]
        title_words = words(article.title, language)
        title_content = content_keys(title_words, stopwords)
        counts = Counter(key for found in content for key in found)
        nodes = None
        if len(counts) > SMALL_VOCABULARY:
            nodes = {key for key, count in counts.items() if count > 1} | set(title_content)
        ranks = rank_words([title_content, *content], nodes)
        top = max(ranks.values(), default=0.0) or 1.0
        return cls(
            sentences=sentences,
            sentence_words=sentence_words,
            content=content,
            title_words=title_words,
            title_content=title_content,
            stopwords=stopwords,
            word_ranks={key: rank / top for key, rank in ranks.items()},
            language=language,
        )


def content_keys(found: Sequence[str], stopwords: frozenset[str]) -> list[str]:
    """Return the singular forms of the content words of ``found``, in order."""
    return [singular(word) for word in found if is_content(word, stopwords)]
