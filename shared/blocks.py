"""The article structure the parser stores and the publishers render.

A document is a list of blocks, plain JSON so it is stored as is::

    {"type": "heading", "level": 1 | 2 | 3, "text": "…"}
    {"type": "paragraph", "text": "…"}
    {"type": "list_item", "ordered": false, "text": "…"}
    {"type": "quote", "text": "…"}
    {"type": "code", "text": "…"}

Text is plain (no inline markup); publishers split it to their own limits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypedDict

BlockType = Literal["heading", "paragraph", "list_item", "quote", "code"]
BLOCK_TYPES: frozenset[str] = frozenset({"heading", "paragraph", "list_item", "quote", "code"})


class Block(TypedDict, total=False):
    """One block of an article."""

    type: BlockType
    text: str
    level: int
    ordered: bool


def paragraphs_from_text(text: str) -> list[Block]:
    """Return one paragraph block per non-blank line: the structure of plain text."""
    return [
        {"type": "paragraph", "text": line.strip()} for line in text.splitlines() if line.strip()
    ]


def validate_blocks(blocks: Iterable[Any]) -> list[Block]:
    """Return ``blocks`` checked against the format; raise ``ValueError`` naming the problem."""
    checked: list[Block] = []
    for position, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            raise ValueError(
                f"block {position}: expected a dict with a type in {sorted(BLOCK_TYPES)}"
            )
        if not isinstance(block.get("text"), str):
            raise ValueError(f"block {position}: text must be a string")
        if block["type"] == "heading" and block.get("level") not in (1, 2, 3):
            raise ValueError(f"block {position}: a heading needs level 1, 2 or 3")
        checked.append(block)  # type: ignore[arg-type]
    return checked
