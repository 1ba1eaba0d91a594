"""What a tag is made of: its normal key, its clean spelling, and whether a word is generic.

The key says when two spellings are one tag: case, singular and plural, punctuation,
hyphens, spaces and accents aside ("Machine-Learning", "machine learnings" and
"Machine Learning" share ``machinelearning``). The database holds it in a unique column,
so two workers saving variants of one new tag at once end up with one tag.

A generic word is one among its language's most common (wordfreq's Zipf frequency): a
tag such as "company" or "state" says nothing about what an article is about.
"""

from __future__ import annotations

import threading
import unicodedata

from wordfreq import available_languages, read_cBpack

from services.ai.text import tag_key

#: A word at this Zipf frequency or above is among its language's few thousand most
#: common ("company" 5.6, "water" 5.5); topic words sit below ("software" 4.8).
GENERIC_ZIPF = 5.3
#: The longest tag kept (Notion's options take 100 characters; tags are short phrases).
MAX_TAG_CHARS = 40
#: The Zipf frequency of the first bucket of a wordfreq list (a frequency of 1).
TOP_ZIPF = 9.0
_read: dict[str, dict[str, float]] = {}
_frequencies_lock = threading.Lock()
# Quotes, brackets, dashes (by code point: curly quotes and dashes look like others).
_EDGE_PUNCTUATION = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb()[]{}<>.,;:!?#*_/\\|-\u2013\u2014"


def normal_key(tag: str) -> str:
    """Return the key under which spellings of one tag are the same tag."""
    folded = unicodedata.normalize("NFKD", tag_key(tag))
    return "".join(char for char in folded if not unicodedata.combining(char) and char != " ")


def clean_label(tag: str) -> str:
    """Return ``tag`` as it is shown: single spaces, no surrounding quotes or punctuation."""
    return " ".join(tag.split()).strip(_EDGE_PUNCTUATION + " ")


def zipf(word: str, language: str | None) -> float:
    """Return the Zipf frequency of ``word`` in ``language`` (English when unknown).

    0 for a word rarer than Zipf 3 (once per million words), and for a language
    wordfreq has no list for: no word of it is then called generic.
    """
    code = (language or "en").split("-")[0].lower()
    return _frequencies(code).get(word, 0.0)


def _frequencies(code: str) -> dict[str, float]:
    """Return the Zipf frequency of each word of ``code``'s list, read once per process."""
    with _frequencies_lock:
        if code not in _read:
            _read[code] = _read_frequencies(code)
        return _read[code]


def _read_frequencies(code: str) -> dict[str, float]:
    # wordfreq's "small" list holds the words from Zipf 3 up, in buckets of a hundredth
    # of a Zipf step, most frequent first (a few MB where ``zipf_frequency`` keeps the
    # whole "large" list of the language in memory, 60 to 120 MB).
    path = available_languages("small").get(code)
    if path is None:
        return {}
    buckets = read_cBpack(path)
    return {
        word: round(TOP_ZIPF - index / 100, 2)
        for index, bucket in enumerate(buckets)
        for word in bucket
    }


def is_generic(word: str, language: str | None) -> bool:
    """Tell whether ``word`` is among its language's most common (Zipf >= GENERIC_ZIPF)."""
    return zipf(word.lower(), language) >= GENERIC_ZIPF
