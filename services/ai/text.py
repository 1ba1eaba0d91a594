"""Text primitives of the ai service: language, sentences, words, stopwords, stems, tag keys.

Deliberately small and offline: the local provider ranks with them, the enrich stage
compares tags with them ("Machine-Learning" and "machine learning" are one), and the
``openai`` provider falls back on :func:`detect_language` when a model names none.

Every language is cut into words: Chinese and Japanese by their segmenters
(:mod:`services.ai.segment`), scripts with combining marks (Devanagari, Bengali, Tamil…)
without losing them. Stopwords come from the stopwords-iso collection
(:mod:`services.ai.stopwords`); the language is :mod:`shared.language`'s.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from services.ai.scripts import has_kana, is_grammar_kana, is_unspaced, is_wide, unspaced_runs
from services.ai.segment import chinese_words, japanese_words
from services.ai.stopwords import stopwords_for, wordset
from shared.language import resolve_language

__all__ = [
    "detect_language",
    "is_content",
    "join_words",
    "same_word",
    "singular",
    "split_sentences",
    "stem",
    "stopwords_for",
    "tag_key",
    "words",
]

ABBREVIATIONS = wordset(
    "mr mrs ms dr prof sr jr st mt vs inc ltd co corp no nos fig gen gov sen rep lt col "
    "capt sgt adm jan feb apr jun jul aug sep sept oct nov dec approx dept est al ca nr "
    "bzw vgl str mme mlle sra srta ud uds av"
)
#: The longest word of a spaced script that can be a tag word; longer runs are codes.
MAX_WORD_CHARS = 25
#: The same for Chinese, Japanese and Korean, whose words are a few characters each.
MAX_WIDE_WORD_CHARS = 12

# Quotes and brackets that may close a sentence or open the next one.
_CLOSERS = "\"'\u201d\u2019\u00bb)]\u300d\u300f\uff09\u3011\u3015\u3009\u300b"
_OPENERS = "\"'\u201c\u2018\u00ab([\u300c\u300e\uff08\u3010\u3014\u3008\u300a"
# Sentence ends followed by a space: Latin, and the question mark of Arabic, the full
# stops of Urdu, Devanagari (danda, double danda), Armenian, Ethiopic and Burmese.
_SENTENCE_END = re.compile(
    r"[.!?…\u061f\u06d4\u0964\u0965\u0589\u1362\u104b]+[" + re.escape(_CLOSERS) + r"]*\s+"
)
# Chinese and Japanese end a sentence with a full-width stop and no space after it.
_WIDE_SENTENCE_END = re.compile(r"[\u3002\uff01\uff1f\uff61]+[" + re.escape(_CLOSERS) + r"]*")
_ENDS_WIDE = re.compile(_WIDE_SENTENCE_END.pattern + "$")
# The particles that make a quotation part of the sentence around it ("と", "って").
_QUOTING = ("\u3068", "\u3063\u3066")


# Letters, with the combining marks that Indic and other scripts put on them.
def _ranges(codes: list[int]) -> str:
    """Return code points as the ranges of a regular expression's class ("a-z…")."""
    parts = []
    start = previous = codes[0]
    for code in [*codes[1:], -1]:
        if code != previous + 1:
            first, last = re.escape(chr(start)), re.escape(chr(previous))
            parts.append(first if start == previous else f"{first}-{last}")
            start = code
        previous = code
    return "".join(parts)


# As ranges: a class of single characters makes every match ten times slower.
_MARKS = _ranges(
    [
        code
        for code in range(0x300, 0x20000)
        if unicodedata.category(chr(code)) in {"Mn", "Mc", "Me"}
    ]
)
# One class, word characters and marks (an alternation is slower by half); the
# underscore, a word character to the regular expression, is made a space first.
_LETTER = r"[\w" + _MARKS + r"]"
_WORD = re.compile(rf"{_LETTER}+(?:'{_LETTER}+)*")
_ELISIONS = frozenset({"l", "d", "j", "m", "n", "s", "t", "c", "qu"})
_SINGULAR_AS_IS = frozenset({"news", "series", "species", "physics", "politics", "economics"})
_STEM_SUFFIXES = (
    *("ations", "ation", "ings", "ing", "ers", "er", "ments", "ment", "ed", "ly"),
    *("ity", "al", "ic", "e"),
)
_CHINESE = frozenset({"zh", "yue", "wuu"})


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; a line break always ends one.

    A stop followed by a space ends a sentence when the next word starts with a capital,
    a digit or a letter of a script without case; a Chinese or Japanese full-width full
    stop, exclamation or question mark ends one whatever follows.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        paragraph = " ".join(line.split())
        start = 0
        for match in _WIDE_SENTENCE_END.finditer(paragraph):
            # "「そうです。」と彼は言った。": a quotation's stop, the sentence goes on.
            if match.group()[-1] in _CLOSERS and paragraph.startswith(_QUOTING, match.end()):
                continue
            sentences += _split_spaced(paragraph[start : match.end()])
            start = match.end()
        sentences += _split_spaced(paragraph[start:])
    return sentences


def _split_spaced(paragraph: str) -> list[str]:
    """Split a paragraph at the stops that are followed by a space and a new sentence."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        following = paragraph[match.end() :].lstrip(_OPENERS)[:1]
        # A capital, a digit, or a letter of a caseless script (Arabic, Hindi, Korean…).
        if not (following.isalnum() and not following.islower()):
            continue
        if match.group().startswith(".") and _ends_in_abbreviation(
            paragraph[start : match.start()]
        ):
            continue
        sentences.append(paragraph[start : match.end()].strip())
        start = match.end()
    if tail := paragraph[start:].strip():
        sentences.append(tail)
    return sentences


def _ends_in_abbreviation(text: str) -> bool:
    """Tell whether the period after ``text`` belongs to an abbreviation or an initial."""
    last = text.rsplit(maxsplit=1)[-1].lstrip(_OPENERS) if text.strip() else ""
    # "J. Smith", "U.S. officials", "e.g. this" and "Dr. Who" are not sentence ends.
    return len(last) == 1 or "." in last or last.lower() in ABBREVIATIONS


def join_sentences(sentences: Sequence[str]) -> str:
    """Join sentences as the text had them: a space between, none after a full-width stop."""
    joined = ""
    for sentence in sentences:
        if joined and not _ENDS_WIDE.search(joined[-8:]):
            joined += " "
        joined += sentence
    return joined


def words(text: str, language: str | None = None) -> list[str]:
    """Return the lowercase words of ``text``; hyphens split, possessives and elisions go.

    Runs of Chinese characters or Japanese kana are segmented into words: as Japanese
    when ``language`` says so or, without a language, when ``text`` holds kana; else as
    Chinese.
    """
    return _words(text, language, segment=True)


def _words(text: str, language: str | None, *, segment: bool) -> list[str]:
    """Return the words of ``text``; runs of Chinese or Japanese whole unless ``segment``."""
    found = []
    japanese: bool | None = None  # decided at the first run of Chinese or Japanese
    unspaced = is_unspaced(text)  # else no token is
    for token in _WORD.findall(text.replace("\u2019", "'").replace("_", " ").lower()):
        if unspaced and is_unspaced(token):
            if not segment:
                found += unspaced_runs(token)
                continue
            if japanese is None:
                japanese = _is_japanese(text, language)
            parts = japanese_words(token) if japanese else chinese_words(token)
            found += [part for part in parts if _WORD.fullmatch(part)]
            continue
        if "'" in token:
            head, _, tail = token.partition("'")
            if head in _ELISIONS:  # French l'économie, qu'il
                token = tail
            elif tail == "s":
                token = head
            elif tail in {"t", "re", "ve", "ll", "d", "m"}:
                continue  # English contractions are all function words
        found.append(token)
    return found


def _is_japanese(text: str, language: str | None) -> bool:
    """Tell whether to cut ``text`` as Japanese: its language says so, or it has kana."""
    code = (language or "").split("-")[0].lower()
    return code == "ja" or (code not in _CHINESE and has_kana(text))


def join_words(parts: Sequence[str]) -> str:
    """Join words as their scripts write them: no space between Chinese or Japanese ones."""
    joined = ""
    for part in parts:
        if joined and not (is_unspaced(joined[-1]) and is_unspaced(part[:1])):
            joined += " "
        joined += part
    return joined


def singular(word: str) -> str:
    """Return a crude singular of an English ``word``, good enough to compare tags."""
    if len(word) <= 3 or word in _SINGULAR_AS_IS or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def stem(word: str) -> str:
    """Return a crude stem of ``word``: "gaming", "gamer" and "games" all give "gam"."""
    base = singular(word)
    for suffix in _STEM_SUFFIXES:
        if base.endswith(suffix) and len(base) - len(suffix) >= 3:
            return base[: -len(suffix)]
    return base


def tag_key(phrase: str) -> str:
    """Return the comparison key of a tag: lowercase, singular, hyphens as spaces.

    Chinese and Japanese words are joined without a space, so the key does not depend
    on where a segmenter cut a compound (and runs of them need no segmenter at all).
    """
    return join_words([singular(word) for word in _words(phrase, None, segment=False)])


def is_content(word: str, stopwords: frozenset[str]) -> bool:
    """Tell whether ``word`` carries meaning: not a stopword, a number or a fragment.

    A Chinese, Japanese or Korean word needs two characters (a Latin one three); a
    Japanese one in kana only, or ending in kana after a kanji (an inflected verb or
    adjective such as "思わ"), is grammar.
    """
    if word in stopwords or word.isdigit():
        return False
    if is_wide(word):
        return 2 <= len(word) <= MAX_WIDE_WORD_CHARS and not is_grammar_kana(word)
    return 3 <= len(word) <= MAX_WORD_CHARS


def same_word(first: str, second: str) -> bool:
    """Tell whether two words are forms of one: "games"/"gaming", "patient"/"patienten"."""
    if stem(first) == stem(second):
        return True
    shorter, longer = sorted((first, second), key=len)
    return len(shorter) >= 5 and longer.startswith(shorter) and len(longer) - len(shorter) <= 3


def detect_language(text: str, declared: str | None = None) -> str | None:
    """Return the language code of ``text`` (see :func:`shared.language.resolve_language`).

    ``declared`` (a page's or a caller's) counts only when the text is too short or
    mixed for the detector to be sure; None for a text without letters.
    """
    return resolve_language(text, declared)
