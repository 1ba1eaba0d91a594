"""Which script a word is written in, as far as cutting text into words needs to know.

Chinese and Japanese write words without spaces between them (they need a segmenter);
with Korean they have short words of a few characters each; Japanese writes grammar
(particles, inflections) in hiragana.
"""

from __future__ import annotations

import re

#: Han ideographs (with extensions and compatibility forms) and Japanese kana.
_UNSPACED = (
    "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d"  # hiragana, katakana, half-width katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # Han
)
#: Hangul syllables and jamo.
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_HAS_UNSPACED = re.compile(f"[{_UNSPACED}]")
_SCRIPT_RUN = re.compile(f"[{_UNSPACED}]+|[^{_UNSPACED}]+")
_HAS_WIDE = re.compile(f"[{_UNSPACED}{_HANGUL}]")
_HAS_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HIRAGANA = re.compile("[\u3041-\u309f]")
_HAS_KATAKANA = re.compile("[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9d]")


def is_unspaced(text: str) -> bool:
    """Tell whether ``text`` holds Chinese characters or Japanese kana."""
    return bool(_HAS_UNSPACED.search(text))


def unspaced_runs(token: str) -> list[str]:
    """Split ``token`` where it passes between Chinese or Japanese and another script."""
    return _SCRIPT_RUN.findall(token)


def is_wide(word: str) -> bool:
    """Tell whether ``word`` is Chinese, Japanese or Korean (words of a few characters)."""
    return bool(_HAS_WIDE.search(word))


def has_kana(text: str) -> bool:
    """Tell whether ``text`` holds Japanese kana (Chinese never does)."""
    return bool(_HAS_KANA.search(text))


def is_grammar_kana(word: str) -> bool:
    """Tell whether a Japanese ``word`` is grammar rather than a topic.

    Words in hiragana only are particles, auxiliaries and the like; a word without
    katakana that ends in hiragana is an inflected verb or adjective ("思わ", "付さ").
    """
    if not word or not _HIRAGANA.fullmatch(word[-1]):
        return False
    return not _HAS_KATAKANA.search(word)
