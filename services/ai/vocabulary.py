"""The knowledge base's tag vocabulary, and the rule every provider's tags go through.

Existing tags (earlier items', the users' imported tags, the Notion database's options)
are preferred: a tag that is one of them in another spelling (case, plural, punctuation,
accents: :func:`~services.ai.tagwords.normal_key`), nearly so ("organisation" and
"organization") or in other words (word embeddings, :mod:`~services.ai.similarity`)
becomes the existing tag. Any other tag is new, and kept only when it is a topic of the
article (:func:`is_new_topic`): a name or a noun phrase that occurs in it, not a
stopword, a number, a date or one of the language's most common words.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from services.ai.morphology import dictionary_form, is_function_form, is_noun
from services.ai.similarity import embed_names, nearest
from services.ai.tagwords import GENERIC_ZIPF, MAX_TAG_CHARS, clean_label, normal_key, zipf
from services.ai.text import is_content, singular, stopwords_for, tag_key, words

#: Cosine similarity from which two tags mean the same (wordllama: "film" and "movie"
#: 0.84, "coronavirus" and "COVID-19" 0.76; below, related but other topics: "Apple" and
#: "apple fruit" 0.62, "soccer" and "football" 0.23).
SAME_MEANING = 0.75
#: Spelling similarity (difflib ratio of normal keys) from which two tags are one.
SAME_SPELLING = 0.9
#: Shorter keys are compared exactly: "iran" and "iraq" are not one tag.
SPELLING_MIN_CHARS = 8
MAX_TAG_WORDS = 4
#: From this many tags on, the vocabulary is settled: an article may carry fewer than
#: MIN_TAGS tags, the existing ones it mentions and at most one new one.
SETTLED_VOCABULARY = 25
#: A word the text writes in lowercase is too vague for a new tag from this Zipf
#: frequency ("role" 5.2, "plans" 5.0); a name (capitalised) only from GENERIC_ZIPF.
VAGUE_ZIPF = 5.0
#: Share of a word's occurrences capitalised from which it is a name ("China", "NASA").
NAME_SHARE = 0.7
_CASED_WORD = re.compile(r"[^\W\d_]+")
# A number joined to a name by a hyphen is part of it ("COVID-19", "F-35").
_NAMED_NUMBER = re.compile(r"[^\W\d_]-\d")
# English words with these endings are adverbs or past participles, not topics.
_NOT_NOUN_EN = ("ly", "ed")

_vocabulary_lock = threading.Lock()


class Vocabulary:
    """Tags in use, the most used first, with what it takes to find one in another form."""

    def __init__(self, names: Sequence[str]) -> None:
        by_key: dict[str, str] = {}
        for name in names:
            label = clean_label(name)
            key = normal_key(label)
            if key and len(label) <= MAX_TAG_CHARS:
                by_key.setdefault(key, label)
        self._by_key = by_key
        self.names = list(by_key.values())
        # Close spellings are looked for among the keys of the same first letter only
        # ("organisation", "organization"): difflib over thousands of keys costs an
        # article tens of milliseconds of the worker's interpreter.
        self._keys_by_initial: dict[str, list[str]] = {}
        for key in by_key:
            self._keys_by_initial.setdefault(key[0], []).append(key)
        self._vectors: NDArray[np.float32] | None = None

    def __len__(self) -> int:
        return len(self.names)

    @property
    def settled(self) -> bool:
        """Tell whether the vocabulary has grown enough for articles to share tags."""
        return len(self.names) >= SETTLED_VOCABULARY

    def existing(self, tag: str) -> str | None:
        """Return the existing tag that ``tag`` is another form of, or None if it is new."""
        key = normal_key(tag)
        if not key:
            return None
        if key in self._by_key:
            return self._by_key[key]
        if len(key) >= SPELLING_MIN_CHARS:
            alike = self._keys_by_initial.get(key[0], [])
            close = difflib.get_close_matches(key, alike, n=1, cutoff=SAME_SPELLING)
            if close:
                return self._by_key[close[0]]
        return self._same_meaning(tag)

    def _same_meaning(self, tag: str) -> str | None:
        """Return the existing tag that means what ``tag`` means, if one does."""
        if not self.names:
            return None
        if self._vectors is None:
            self._vectors = embed_names(self.names)
        row, score = nearest(tag, self._vectors)
        if row < 0 or score < SAME_MEANING:
            return None
        name = self.names[row]
        # "York" is not "New York", nor "Python" "Python programming": a part of a tag
        # names something else than the whole.
        mine, theirs = set(tag_key(tag).split()), set(tag_key(name).split())
        return None if mine <= theirs or theirs <= mine else name

    def resolve(self, tags: Sequence[str], text: str, language: str | None) -> list[str]:
        """Return ``tags`` as the vocabulary's tags, or as new topics of ``text``.

        A tag in another form of an existing one becomes it; a new tag that is no topic
        of the text (:func:`is_new_topic`) is dropped, a new one-word noun of an analysed
        language takes its dictionary form. No two tags share a key.
        """
        article: ArticleWords | None = None  # read only if a tag is new: it costs ms
        stopwords = stopwords_for(language)
        kept: dict[str, str] = {}
        for tag in tags:
            label = clean_label(tag)
            if not label or len(label) > MAX_TAG_CHARS:
                continue
            name = self.existing(label)
            if name is None:
                # Russian "кухни" is the tag "кухня": its dictionary form, maybe existing.
                listed = dictionary_form(label, language)
                name = self.existing(listed) if listed != label else None
            if name is None:
                article = article or ArticleWords.of(text)
                if is_new_topic(label, article, language, stopwords):
                    name = listed
            if name is not None:
                kept.setdefault(normal_key(name), name)
        return list(kept.values())


def vocabulary_of(names: Sequence[str]) -> Vocabulary:
    """Return the vocabulary of ``names`` (most used first), built once for the same list."""
    with _vocabulary_lock:
        return _cached_vocabulary(tuple(names))


@lru_cache(maxsize=4)
def _cached_vocabulary(names: tuple[str, ...]) -> Vocabulary:
    return Vocabulary(names)


@dataclass(frozen=True)
class ArticleWords:
    """What a new tag is checked against: the words of its article, and its names."""

    #: The singular forms of the text's words.
    present: set[str]
    #: The lowercase forms of the words the text writes capitalised (names).
    names: set[str]

    @classmethod
    def of(cls, text: str) -> ArticleWords:
        """Return the words and names of ``text``."""
        tokens = _CASED_WORD.findall(text)
        seen = Counter(map(str.lower, tokens))
        capitalised = Counter(token.lower() for token in tokens if token[0].isupper())
        names = {word for word, count in seen.items() if capitalised[word] >= NAME_SHARE * count}
        return cls(present_words(text), names)


def present_words(text: str) -> set[str]:
    """Return the singular forms of the words of ``text`` (what a tag is looked up in)."""
    return {singular(word) for word in set(words(text))}


def occurs(tag: str, present: set[str]) -> bool:
    """Tell whether ``tag`` occurs among ``present`` words: each word, or all as one."""
    parts = [singular(word) for word in words(tag)]
    return bool(parts) and (all(part in present for part in parts) or "".join(parts) in present)


def is_new_topic(
    label: str, article: ArticleWords, language: str | None, stopwords: frozenset[str]
) -> bool:
    """Tell whether ``label`` may become a new tag of ``article``.

    It must occur in the article, hold one to four words, begin and end with a word
    that carries meaning (an acronym such as "AI" does), and hold no bare number. A
    single word must not be among its language's most common (a name: Zipf >=
    GENERIC_ZIPF; a lowercase word, vaguer: VAGUE_ZIPF), nor in English an adverb or a
    past participle, nor where words are analysed (:mod:`~services.ai.morphology`)
    anything but a noun or an unknown word.
    """
    found = words(label)
    if not 1 <= len(found) <= MAX_TAG_WORDS:
        return False
    acronyms = {word.lower() for word in label.split() if word.isupper() and word.isalpha()}
    if any(word.isdigit() for word in found):
        if not _NAMED_NUMBER.search(label):
            return False
        found = [word for word in found if not word.isdigit()]
    if not found or not all(
        _meaningful(word, language, stopwords, acronyms) for word in (found[0], found[-1])
    ):
        return False
    if len(found) == 1:
        word = found[0]
        if word not in acronyms and not is_noun(word, language):
            return False
        limit = GENERIC_ZIPF if word in article.names or word in acronyms else VAGUE_ZIPF
        if zipf(word, language) >= limit:
            return False
        english = (language or "en").startswith("en")
        if english and len(word) > 4 and word.endswith(_NOT_NOUN_EN) and word[-3:] != "eed":
            return False
    return occurs(label, article.present)


def _meaningful(
    word: str, language: str | None, stopwords: frozenset[str], acronyms: set[str]
) -> bool:
    """Tell whether ``word`` carries meaning; an acronym written in capitals ("AI") does.

    Where the language's words are analysed (Russian, Ukrainian), a form of a stopword
    ("можете" of "мочь") or a verb, pronoun or particle does not.
    """
    if word in acronyms and len(word) >= 2:
        return True
    if not is_content(word, stopwords) or word.isdigit():
        return False
    return not is_function_form(word, language, stopwords)
