"""The local provider's tags: the vocabulary's tags the text mentions, few new ones.

Tags converge: every existing tag the text mentions enough leads, in its own spelling,
then those it mentions in passing; a new tag is added only while the article has fewer
than :data:`MIN_TAGS` (once the vocabulary is settled, one at most, and none when the
article mentions an existing tag). New candidates are single words and recurring
two-word phrases, those the text repeats first, scored by frequency and TextRank
centrality and weighted by how likely other articles are to share them (a word of
middling frequency in its language more than a rare name); each must be a topic of the
article (:func:`~services.ai.vocabulary.is_new_topic`) and is replaced by the existing
tag it is another form of.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.ai.analysis import ArticleText
from services.ai.providers.base import MAX_TAGS, MIN_TAGS
from services.ai.tagwords import MAX_TAG_CHARS, zipf
from services.ai.text import detect_language, is_content, singular, tag_key
from services.ai.vocabulary import (
    ArticleWords,
    Vocabulary,
    is_new_topic,
    vocabulary_of,
)

#: Once the vocabulary is settled, an article gets at most this many new tags, and
#: carries fewer than MIN_TAGS rather than more words no other article shares...
NEW_TAGS_WHEN_SETTLED = 1
#: ... and none when it mentions this many existing tags.
SHARED_MIN = 1
# How much TextRank centrality counts against plain frequency in a tag's score.
CENTRALITY_WEIGHT = 0.5
#: Zipf frequencies between which a new word's chance of being shared grows: a word
#: rarer than the first is a name few other articles mention.
SHARED_ZIPF = (3.0, 5.3)
#: How steeply a rarer word's chance of being shared falls.
SHARING_POWER = 2.0
#: The least a word counts for, however rare: a name the article is about still wins.
SHARING_FLOOR = 0.1
#: A new phrase's weight against a word's: phrases are precise, but rarely shared.
PHRASE_SHARING = 0.4


@dataclass(frozen=True)
class _Candidate:
    """A possible tag: its comparison key, how it reads, and its weight in the text."""

    key: str
    label: str
    score: float
    first_seen: int
    #: How often it occurs (title words twice).
    count: float

    def resembles(self, other: _Candidate) -> bool:
        """Tell whether two tags are near-duplicates: they share a word."""
        return bool(set(self.key.split()) & set(other.key.split()))


def keyphrase_tags(text: ArticleText, existing_tags: Sequence[str]) -> list[str]:
    """Return up to 5 tags: the existing ones the text is about, new ones, those it mentions.

    ``existing_tags`` is the vocabulary, most used first. The tags the text mentions
    enough (twice in a long text; a title word counts twice) lead, in their own
    spelling; new tags follow while the article has fewer than MIN_TAGS (once the
    vocabulary is settled, one at most, and none when it mentions an existing tag); the
    existing tags it mentions only in passing come last.
    """
    vocabulary = vocabulary_of(existing_tags)
    known = _known_tags(vocabulary.names, text.stopwords)
    # The title names the subject, so its words count twice.
    weighted = [(text.title_words, 2), *((found, 1) for found in text.sentence_words)]
    present = _count_known(weighted, known)
    total_words = sum(len(found) for found in text.sentence_words)
    # In a long text a single passing mention of a tag is not its subject.
    needed = 1 if total_words < 100 else 2
    rank = {key: index for index, key in enumerate(known)}
    mentioned: list[_Candidate] = []
    for key in sorted(known, key=lambda key: (-present[key], rank[key])):
        candidate = _Candidate(key, known[key], float(present[key]), -1, float(present[key]))
        if present[key] and not any(candidate.resembles(other) for other in mentioned):
            mentioned.append(candidate)
    subjects = [candidate for candidate in mentioned if candidate.count >= needed]
    passing = [candidate for candidate in mentioned if candidate.count < needed]
    wanted = MIN_TAGS - len(mentioned)
    if vocabulary.settled:
        # An article that shares tags with others needs no new one.
        wanted = 0 if len(mentioned) >= SHARED_MIN else min(wanted, NEW_TAGS_WHEN_SETTLED)
    new = _new_tags(text, weighted, vocabulary, known, mentioned, wanted) if wanted > 0 else []
    return [candidate.label for candidate in [*subjects, *new, *passing][:MAX_TAGS]]


def _new_tags(
    text: ArticleText,
    weighted: Sequence[tuple[Sequence[str], int]],
    vocabulary: Vocabulary,
    known: dict[str, str],
    chosen: Sequence[_Candidate],
    wanted: int,
) -> list[_Candidate]:
    """Return up to ``wanted`` new tags, the most likely to be shared by other articles."""
    sample = " ".join([" ".join(text.title_words), *text.sentences[:20]])
    language = detect_language(sample)
    candidates = _candidates(weighted, text.stopwords, known, text.word_ranks)
    article = ArticleWords.of("\n".join([*text.sentences, " ".join(text.title_words)]))
    ranked = sorted(
        candidates,
        # A word the text uses once is a passing mention: recurring ones come first.
        key=lambda candidate: (
            candidate.count < 2,
            -candidate.score * _sharing(candidate, language),
            candidate.first_seen,
        ),
    )
    found: list[_Candidate] = []
    for candidate in ranked:
        if len(found) == wanted:
            break
        if candidate.key in known or not is_new_topic(
            candidate.label, article, language, text.stopwords
        ):
            continue
        existing = vocabulary.existing(candidate.label)
        if existing is not None:
            candidate = _Candidate(
                tag_key(existing), existing, candidate.score, candidate.first_seen, candidate.count
            )
        if not any(candidate.resembles(other) for other in [*chosen, *found]):
            found.append(candidate)
    return found


def _sharing(candidate: _Candidate, language: str | None) -> float:
    """Return how likely other articles are to share ``candidate`` (0.01 to 1).

    A word's frequency in the article's language or in English (names and loanwords
    cross languages) says how widely it is used; the curve is steep, as a word few
    articles use makes a tag used once.
    """
    low, high = SHARED_ZIPF
    parts = candidate.key.split()
    rarest = min(max(zipf(word, language), zipf(word, "en")) for word in parts)
    share = min(1.0, max(SHARING_FLOOR, (rarest - low) / (high - low))) ** SHARING_POWER
    return share * (PHRASE_SHARING if len(parts) > 1 else 1.0)


def _known_tags(existing_tags: Iterable[str], stopwords: frozenset[str]) -> dict[str, str]:
    """Map the comparison key of each usable existing tag to its spelling."""
    known: dict[str, str] = {}
    for tag in existing_tags:
        key = tag_key(tag)
        # A tag such as "IT" or "US" would match every "it" and "us" of the text, one
        # such as "to read" every "to read".
        parts = key.split()
        if not parts or len(key) > MAX_TAG_CHARS or key in stopwords:
            continue
        if not (_carries_meaning(parts[0], stopwords) and _carries_meaning(parts[-1], stopwords)):
            continue
        known.setdefault(key, tag.strip())
    return known


def _carries_meaning(word: str, stopwords: frozenset[str]) -> bool:
    """Tell whether an existing tag may begin or end with ``word`` (not a stopword)."""
    return word not in stopwords and not word.isdigit()


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
