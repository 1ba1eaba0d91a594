"""The article block format."""

from __future__ import annotations

import pytest

from shared.blocks import paragraphs_from_text, validate_blocks


def test_plain_text_becomes_one_paragraph_per_line() -> None:
    assert paragraphs_from_text("One.\n\n  Two. \n") == [
        {"type": "paragraph", "text": "One."},
        {"type": "paragraph", "text": "Two."},
    ]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"type": "table", "text": "x"}, "expected a dict with a type"),
        ({"type": "paragraph"}, "text must be a string"),
        ({"type": "heading", "text": "x", "level": 4}, "level 1, 2 or 3"),
    ],
)
def test_invalid_blocks_are_refused_naming_the_problem(block: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_blocks([{"type": "paragraph", "text": "ok"}, block])
