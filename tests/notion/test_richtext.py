"""Text split to Notion's limits: UTF-16 units, word boundaries, whole graphemes."""

from __future__ import annotations

import itertools
import unicodedata

import pytest

from services.notion import richtext
from services.notion.richtext import MAX_TEXT, clean, rich_text, split, truncate, utf16_len


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("東京") == 2
    assert utf16_len("👍") == 2
    assert utf16_len("👩‍👩‍👧") == 8


def test_a_short_text_is_one_piece() -> None:
    assert split("Hello world") == ["Hello world"]
    assert split("") == [""]


def test_long_prose_is_cut_after_whitespace_and_joins_back_exactly() -> None:
    text = " ".join(f"word{index}" for index in range(2000))

    pieces = split(text)

    assert "".join(pieces) == text
    assert all(utf16_len(piece) <= MAX_TEXT for piece in pieces)
    assert all(piece.endswith(" ") for piece in pieces[:-1])
    # Pieces are full: a cut falls in the last half of the window at worst.
    assert all(utf16_len(piece) > MAX_TEXT // 2 for piece in pieces[:-1])


def test_emoji_count_double_so_a_piece_of_emoji_holds_1000_of_them() -> None:
    text = "😀" * 2500

    pieces = split(text)

    assert [len(piece) for piece in pieces] == [1000, 1000, 500]
    assert "".join(pieces) == text


def test_text_without_spaces_is_cut_between_graphemes() -> None:
    family = "👩\u200d👩\u200d👧\u200d👦"  # 11 UTF-16 units, one grapheme
    text = "東" * 1995 + family + "京" * 100

    pieces = split(text)

    assert "".join(pieces) == text
    assert pieces[0] == "東" * 1995  # the family does not fit: it moves whole
    assert pieces[1].startswith(family)


@pytest.mark.parametrize(
    "text",
    [
        "e" + "\u0301" * 3 + "x" * 2500,  # combining marks stay on their letter
        "x" * 1999 + "e\u0301\u0301" + "y" * 10,
        "x" * 1998 + "🇫🇷🇩🇪🇮🇹" + "y" * 10,  # flags are pairs of regional indicators
        "x" * 1999 + "👍🏽" + "y" * 10,  # a skin tone modifier stays on its emoji
        "x" * 1999 + "❤\ufe0f" + "y" * 10,  # a variation selector stays on its character
    ],
)
def test_no_piece_starts_inside_a_grapheme(text: str) -> None:
    pieces = split(text)

    assert "".join(pieces) == text
    for piece in pieces:
        assert utf16_len(piece) <= MAX_TEXT
        first = piece[0]
        assert not unicodedata.combining(first)
        assert first not in ("\u200d", "\ufe0f") and not 0x1F3FB <= ord(first) <= 0x1F3FF
    for before, after in itertools.pairwise(pieces):
        flags_before = sum(1 for char in before if 0x1F1E6 <= ord(char) <= 0x1F1FF)
        assert flags_before % 2 == 0, (before[-4:], after[:4])


def test_clean_drops_controls_and_lone_surrogates_but_keeps_tabs_and_newlines() -> None:
    assert clean("a\x00b\x07c\td\r\ne\rf\ud800g\ufffe") == "abc\td\ne\nfg"
    assert clean("Zoë 東京 👩‍👩‍👧") == "Zoë 東京 👩‍👩‍👧"


def test_truncate_cuts_at_a_word_and_marks_the_cut() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("alpha beta gamma delta", 12) == "alpha beta…"
    assert utf16_len(truncate("x" * 300, 100)) == 100


def test_rich_text_items_hold_at_most_2000_units_each() -> None:
    items = rich_text("word " * 1000)

    assert len(items) == 3
    assert all(item["type"] == "text" for item in items)
    assert all(utf16_len(item["text"]["content"]) <= richtext.MAX_TEXT for item in items)
    assert rich_text("") == []
