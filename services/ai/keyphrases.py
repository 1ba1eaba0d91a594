"""The local provider's tags: the text's keyphrases, the tags already in use first.

Candidates are single words and recurring two-word phrases, scored by frequency and
TextRank centrality; an existing tag the text mentions enough leads, in its own
spelling. Near-duplicates (a shared stem or prefix) are dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.ai.analysis import ArticleText
from services.ai.providers.base import MAX_TAGS, MIN_TAGS
from services.ai.text import is_content, same_word, singular, tag_key

MAX_TAG_CHARS = 40
# How much TextRank centrality counts against plain frequency in a tag's score.
CENTRALITY_WEIGHT = 0.5


@dataclass(frozen=True)
class _Candidate:
    """A possible tag: its comparison key, how it reads, and its weight in the text."""

    key: str
    label: str
    score: float
    first_seen: int
    #: How often it occurs (title words twice): a tag beyond the minimum must recur.
    count: float

    def resembles(self, other: _Candidate) -> bool:
        """Tell whether two tags are near-duplicates: they share a word's stem or prefix."""
        return any(
            same_word(mine, theirs) for mine in self.key.split() for theirs in other.key.split()
        )


def keyphrase_tags(text: ArticleText, existing_tags: Sequence[str]) -> list[str]:
    """Return 3 to 5 keyphrase tags, preferring ``existing_tags`` in their own spelling."""
    known = _known_tags(existing_tags, text.stopwords)
    # The title names the subject, so its words count twice.
    weighted = [(text.title_words, 2), *((found, 1) for found in text.sentence_words)]
    candidates = _candidates(weighted, text.stopwords, known, text.word_ranks)
    total_words = sum(len(found) for found in text.sentence_words)
    present = _count_known(weighted, known)
    # In a long text a single passing mention of a popular tag is not its subject.
    needed = 1 if total_words < 100 else 2
    ranked = [
        _Candidate(key, label, float(present[key]), -1, float(present[key]))
        for key, label in known.items()
        if present[key] >= needed
    ]
    ranked.sort(key=lambda candidate: -candidate.score)
    ranked += sorted(candidates, key=lambda candidate: (-candidate.score, candidate.first_seen))
    chosen: list[_Candidate] = []
    for candidate in ranked:
        if len(chosen) == MAX_TAGS:
            break
        # Beyond the minimum, only words that recur are worth a tag.
        if len(chosen) >= MIN_TAGS and candidate.count < 2:
            continue
        if any(candidate.resembles(other) for other in chosen):
            continue
        chosen.append(candidate)
    return [candidate.label for candidate in chosen]


def _known_tags(existing_tags: Iterable[str], stopwords: frozenset[str]) -> dict[str, str]:
    """Map the comparison key of each usable existing tag to its spelling."""
    known: dict[str, str] = {}
    for tag in existing_tags:
        key = tag_key(tag)
        # A tag such as "IT" or "US" would match every "it" and "us" of the text.
        if not key or key in stopwords or len(key) > MAX_TAG_CHARS:
            continue
        known.setdefault(key, tag.strip())
    return known


def _count_known(
    weighted: Sequence[tuple[Sequence[str], int]], known: dict[str, str]
) -> Counter[str]:
    """Count how often each known tag occurs, hyphenated, spaced or written as one word."""
    by_form: dict[str, str] = {}
    for key in known:
        by_form.setdefault(key, key)
        by_form.setdefault(key.replace(" ", ""), key)
    longest = max((len(key.split()) for key in known), default=0)
    counts: Counter[str] = Counter()
    for found, weight in weighted:
        keys = [singular(word) for word in found]
        for size in range(1, longest + 1):
            for start in range(len(keys) - size + 1):
                match = by_form.get(" ".join(keys[start : start + size]))
                if match is not None:
                    counts[match] += weight
    return counts


def _candidates(
    weighted: Sequence[tuple[Sequence[str], int]],
    stopwords: frozenset[str],
    known: dict[str, str],
    word_ranks: dict[str, float],
) -> list[_Candidate]:
    """Return single words and recurring two-word phrases of the text as tag candidates.

    A candidate scores its count plus, for each repetition, a share of its TextRank
    centrality (a phrase: its most central word's), so that of two words as frequent,
    the one the text revolves around wins.
    """
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    spellings: dict[str, Counter[str]] = {}
    position = 0
    for found, weight in weighted:
        previous: str | None = None
        for word in found:
            position += 1
            if not is_content(word, stopwords):
                previous = None
                continue
            phrases = [word] if previous is None else [word, f"{previous} {word}"]
            for phrase in phrases:
                key = tag_key(phrase)
                counts[key] += weight
                first_seen.setdefault(key, position)
                spellings.setdefault(key, Counter())[phrase] += 1
            previous = word
    candidates = []
    for key, count in counts.items():
        compact = key.replace(" ", "")
        label = known.get(key) or known.get(compact) or spellings[key].most_common(1)[0][0]
        parts = key.split()
        is_phrase = len(parts) > 1
        # A phrase is a tag only when it recurs; then it beats its single words.
        if is_phrase and count < 2:
            continue
        if len(label) > MAX_TAG_CHARS:
            continue
        centrality = CENTRALITY_WEIGHT * max(word_ranks.get(part, 0.0) for part in parts)
        # Centrality adds with each repetition: a word seen once is ranked by position
        # only, as TextRank is noise on single mentions.
        score = (count + (count - 1) * centrality) * (2.0 if is_phrase else 1.0)
        candidates.append(_Candidate(key, label, score, first_seen[key], float(count)))
    return candidates
