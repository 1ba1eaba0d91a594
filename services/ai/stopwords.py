"""Stopwords of every language: the stopwords-iso collection, then common-word lists.

The ``stopwordsiso`` package carries the stopwords-iso lists (58 languages, maintained
upstream). For a language it has no list for, the language's most common words from
``wordfreq`` stand in when that package is installed (four more of the detector's
languages: Icelandic, Macedonian, Serbo-Croatian, Tamil). A language neither knows gets
English stopwords only, and a log line says so once: 111 of the detector's 176, among
them Belarusian, Georgian, Kazakh, Welsh, Javanese, Burmese, Khmer, Nepali, Sinhala,
Telugu and Malayalam, and many regional ones. Close varieties share a list (Norwegian Nynorsk and
Bokmål, Bosnian and Croatian, Cantonese and Chinese).

English stopwords always count too (articles in every language quote English names and
phrases), with GENERIC_EN: words that are no stopwords but that news and blog texts use
so often that they make poor tags ("said", "year", "people").
"""

from __future__ import annotations

import logging
from functools import cache

import stopwordsiso

from shared.language import language_code

log = logging.getLogger(__name__)

#: The most common words of a language that stand in for a missing stopword list.
COMMON_WORDS_AS_STOPWORDS = 150
#: Varieties the detector names separately whose closest list is another code's.
_SAME_LIST = {
    "nb": "no",
    "nn": "no",
    "bs": "hr",
    "yue": "zh",
    "wuu": "zh",
    "fil": "tl",
    "als": "de",
    "arz": "ar",
}


def wordset(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of a word list written as a text block."""
    return frozenset(text.split())


GENERIC_EN = wordset(
    """
    ago according across actually add added ahead allow amid anyway ask asked based behind
    believe best better big bit came come comes coming continue day days different doesn
    don early end far find first five four full give given gives good great half high hit
    include instead keep kind know known large largest last late later lead left long look
    looking lot lots low mean means million billion month months mr mrs ms new news number
    old part past people place point put recent recently report reported reports right said
    say saying says second set several show shows side six small started take taken takes
    talk tell ten thing things think third three time times today told top total try turn
    two way ways week weeks went whole won work year years yes yesterday monday tuesday
    wednesday thursday friday saturday sunday january february march april june july august
    september october november december percent inch inches cent
    """
)


@cache
def stopwords_for(language: str | None) -> frozenset[str]:
    """Return English stopwords and GENERIC_EN plus the stopwords of ``language``."""
    code = language_code(language) or "en"
    return _stopwords("en") | GENERIC_EN | _stopwords(_SAME_LIST.get(code, code))


def has_stopword_list(language: str) -> bool:
    """Tell whether ``language`` has a list of its own (stopwords-iso, else wordfreq)."""
    code = language_code(language) or language
    return bool(_listed(_SAME_LIST.get(code, code)) or _common_words(code))


@cache
def _stopwords(code: str) -> frozenset[str]:
    """Return the stopwords of one language, from the first source that has a list."""
    found = _listed(code) or _common_words(code)
    if not found:
        log.info("no stopword list for language %r: English stopwords only", code)
    return found


def _listed(code: str) -> frozenset[str]:
    """Return stopwords-iso's list for ``code`` in lowercase (empty when it has none)."""
    return frozenset(word.lower() for word in stopwordsiso.stopwords(code))


def _common_words(code: str) -> frozenset[str]:
    """Return wordfreq's most common words of ``code`` when wordfreq is installed."""
    try:
        import wordfreq
    except ImportError:
        return frozenset()
    # Only a list of the language itself: wordfreq would otherwise pick a "nearest" one.
    if code not in wordfreq.available_languages():
        return frozenset()
    return frozenset(wordfreq.top_n_list(code, COMMON_WORDS_AS_STOPWORDS))
