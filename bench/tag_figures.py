"""The figures of a tag vocabulary: how well tags converge, and whether they are topics.

Shared by ``bench/bench_tags.py`` (through the stack) and the convergence test: both read
what enrichment saved and judge it the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.ai.morphology import lemmas
from services.ai.tagwords import GENERIC_ZIPF, zipf
from services.ai.text import singular, words

#: The targets: distinct tags per item, share of tags used once, share of common words.
MAX_DISTINCT_PER_ITEM = 0.8
MAX_USED_ONCE = 0.35
MAX_COMMON_WORDS = 0.10


@dataclass(frozen=True)
class TaggedArticle:
    """An enriched article: its title, text, language and the tags it was given."""

    title: str
    text: str
    language: str | None
    tags: Sequence[str]


@dataclass(frozen=True)
class TagFigures:
    """What a set of enriched articles says about their tags."""

    items: int
    tags_per_item: float
    distinct: int
    distinct_per_item: float
    used_once: float
    #: Share of the tags given (one per item and tag) found in their article.
    found_in_article: float
    #: Share of the tags given that are one word among the language's most common.
    common_words: float
    most_used: list[tuple[str, int]]
    not_found: list[tuple[str, str]]

    def meets_targets(self) -> bool:
        """Tell whether every figure is within its target."""
        return (
            self.distinct_per_item <= MAX_DISTINCT_PER_ITEM
            and self.used_once <= MAX_USED_ONCE
            and self.found_in_article == 1.0
            and self.common_words <= MAX_COMMON_WORDS
        )

    def rows(self) -> list[tuple[str, str]]:
        """Return the figures as printable rows."""
        return [
            ("items enriched", str(self.items)),
            ("tags per item", f"{self.tags_per_item:.2f}"),
            ("distinct tags", str(self.distinct)),
            ("distinct tags per item", f"{self.distinct_per_item:.2f} (target <= 0.8)"),
            ("share of tags used once", f"{self.used_once:.0%} (target <= 35 %)"),
            ("tags found in their article", f"{self.found_in_article:.1%} (target 100 %)"),
            ("one common word (Zipf >= 5.3)", f"{self.common_words:.1%} (target <= 10 %)"),
            ("most used", ", ".join(f"{tag} ({uses})" for tag, uses in self.most_used)),
        ]


def tag_figures(articles: Sequence[TaggedArticle]) -> TagFigures:
    """Return the figures of ``articles``' tags (tags compared by their exact name)."""
    uses = Counter(tag for article in articles for tag in article.tags)
    given = [(article, tag) for article in articles for tag in article.tags]
    items = max(len(articles), 1)
    missing = [(tag, article.title) for article, tag in given if not occurs(tag, article)]
    common = [tag for article, tag in given if is_common_word(tag, article.language)]
    return TagFigures(
        items=len(articles),
        tags_per_item=len(given) / items,
        distinct=len(uses),
        distinct_per_item=len(uses) / items,
        used_once=sum(1 for count in uses.values() if count == 1) / max(len(uses), 1),
        found_in_article=1 - len(missing) / max(len(given), 1),
        common_words=len(common) / max(len(given), 1),
        most_used=uses.most_common(10),
        not_found=missing,
    )


def occurs(tag: str, article: TaggedArticle) -> bool:
    """Tell whether ``tag`` occurs in the article, as itself or a close form.

    A close form: each of its words in the singular or (Russian, Ukrainian) its
    dictionary form, or the tag written as one word ("machine-learning", "Machine
    Learning" and "machinelearning" are one).
    """
    present = {singular(word) for word in words(f"{article.title}\n{article.text}")}
    # A Russian tag in its dictionary form ("кухня") occurs as the text's "кухню".
    present |= lemmas(present, article.language)
    parts = [singular(word) for word in words(tag)]
    return bool(parts) and (all(part in present for part in parts) or "".join(parts) in present)


def is_common_word(tag: str, language: str | None) -> bool:
    """Tell whether ``tag`` is one word among its language's most common."""
    found = words(tag)
    return len(found) == 1 and zipf(found[0], language) >= GENERIC_ZIPF
