"""Plain text as Notion rich text: cleaned, and split to Notion's length limits.

Notion measures text as JavaScript does, in UTF-16 code units: an emoji outside the Basic
Multilingual Plane counts twice. A text item holds at most 2 000 of them and an array at
most 100 items. Splits fall after whitespace where there is some in the second half of an
item; otherwise between two characters that do not belong to one grapheme (never inside
a surrogate pair, before a combining mark, around a zero-width joiner or inside a flag).
Joining the pieces gives back the cleaned text exactly.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

#: UTF-16 code units per ``text.content``.
MAX_TEXT = 2000
#: Items per rich-text array.
MAX_ITEMS = 100

#: Control characters (but tab and newline), lone surrogates and the two noncharacters
#: that Notion's JSON and editor reject or mangle.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_ZWJ = "\u200d"


def clean(text: str) -> str:
    """Return ``text`` with Unix line ends and without unwanted characters."""
    return _UNWANTED.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def utf16_len(text: str) -> int:
    """Return the length of ``text`` as Notion counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Return ``text`` in pieces of at most ``limit`` UTF-16 units, cut at word boundaries."""
    pieces: list[str] = []
    rest, units = text, utf16_len(text)
    while units > limit:
        cut = _fitting_prefix(rest, limit)
        cut = _word_boundary(rest, cut) or _grapheme_boundary(rest, cut)
        pieces.append(rest[:cut])
        units -= utf16_len(pieces[-1])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def truncate(text: str, limit: int) -> str:
    """Return ``text`` cut at a word boundary to ``limit`` UTF-16 units, with "…" if cut."""
    if utf16_len(text) <= limit:
        return text
    head = split(text, limit - 1)[0].rstrip()
    return head + "…"


def rich_text(text: str) -> list[dict[str, Any]]:
    """Return ``text`` as rich-text items of at most :data:`MAX_TEXT` units each."""
    return [{"type": "text", "text": {"content": piece}} for piece in split(text) if piece]


def _fitting_prefix(text: str, limit: int) -> int:
    """Return the most code points from the start of ``text`` within ``limit`` units."""
    cut = min(limit, len(text))
    while (excess := utf16_len(text[:cut]) - limit) > 0:
        # Each code point takes one or two units: dropping half the excess (rounded up)
        # never drops more than one unit too many.
        cut -= (excess + 1) // 2
    return max(cut, 1)


def _word_boundary(text: str, cut: int) -> int:
    """Return the position just after the last whitespace in the second half, or 0."""
    for position in range(cut - 1, cut // 2 - 1, -1):
        if text[position].isspace():
            return position + 1
    return 0


def _grapheme_boundary(text: str, cut: int) -> int:
    """Return ``cut`` moved back until it does not split a grapheme (or ``cut`` if none)."""
    position = cut
    while position > 0 and not _can_break(text, position):
        position -= 1
    return position or cut


def _can_break(text: str, position: int) -> bool:
    """Tell whether a piece may end just before ``text[position]``."""
    before, after = text[position - 1], text[position]
    if _extends(after) or before == _ZWJ:
        return False
    if _regional(before) and _regional(after):
        # Flags are pairs of regional indicators: break only after an even run.
        run = 0
        while position - run - 1 >= 0 and _regional(text[position - run - 1]):
            run += 1
        return run % 2 == 0
    return True


def _extends(char: str) -> bool:
    """Tell whether ``char`` attaches to the character before it."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF
