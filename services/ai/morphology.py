"""Parts of speech for the languages whose word forms a stopword list cannot cover.

Russian and Ukrainian inflect their function words into many forms ("можете", "какую"),
and the stopwords-iso lists hold only some of them. For these languages a word is
analysed with pymorphy3 (its OpenCorpora and VESUM dictionaries ship in their wheels):
its most likely reading gives the lemma ("можете" → "мочь") and the part of speech, so
a form of a stopword, a verb, a pronoun or a particle is told from a topic.
Other languages have no analyser here: :func:`reading` returns None for them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

#: The languages analysed, and the pymorphy3 dictionary each needs.
ANALYSED = {"ru": "ru", "uk": "uk"}
#: Parts of speech that may name a topic: nouns, adjectives (in a phrase), and words
#: the dictionary does not know (names, loanwords: "блокчейн", "OpenAI").
TOPIC_PARTS = frozenset({"NOUN", "ADJF", None})
_lock = threading.Lock()


@dataclass(frozen=True)
class Reading:
    """A word's most likely lemma and part of speech (None when the word is unknown)."""

    lemma: str
    part: str | None


@cache
def _analyser(language: str) -> Any:
    import pymorphy3  # imported here: only Russian and Ukrainian texts need it (28 MiB)

    return pymorphy3.MorphAnalyzer(lang=ANALYSED[language])


def _analyser_for(language: str) -> Any:
    # One analyser per language and process, however many threads ask at once.
    with _lock:
        return _analyser(language)


@lru_cache(maxsize=65536)
def reading(word: str, language: str | None) -> Reading | None:
    """Return ``word``'s most likely reading in ``language``; None if it is not analysed."""
    code = (language or "").split("-")[0].lower()
    if code not in ANALYSED:
        return None
    parse = _analyser_for(code).parse(word)[0]
    return Reading(lemma=str(parse.normal_form), part=parse.tag.POS)


def is_function_form(word: str, language: str | None, stopwords: frozenset[str]) -> bool:
    """Tell whether ``word`` is a form of a stopword, or no noun or adjective at all.

    False for the languages without an analyser: their stopword lists decide alone.
    """
    found = reading(word.lower(), language)
    if found is None:
        return False
    return found.lemma in stopwords or found.part not in TOPIC_PARTS


def is_noun(word: str, language: str | None) -> bool:
    """Tell whether ``word`` may stand alone as a topic: a noun or an unknown word.

    True for the languages without an analyser.
    """
    found = reading(word.lower(), language)
    return found is None or found.part in {"NOUN", None}


def dictionary_form(label: str, language: str | None) -> str:
    """Return a one-word noun tag in its dictionary form ("кухню" → "кухня"), else ``label``.

    Other case forms of the noun then make one tag. A capitalised name stays so
    ("Москве" → "Москва"); a phrase keeps its words' agreement as written.
    """
    if " " in label:
        return label
    found = reading(label.lower(), language)
    if found is None or found.part != "NOUN":
        return label
    return found.lemma.capitalize() if label[:1].isupper() else found.lemma


def lemmas(words: set[str], language: str | None) -> set[str]:
    """Return the lemmas of ``words`` in an analysed language (nothing for the others)."""
    code = (language or "").split("-")[0].lower()
    if code not in ANALYSED:
        return set()
    return {found.lemma for word in words if (found := reading(word, code)) is not None}
