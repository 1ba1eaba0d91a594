"""Documents for the publisher tests: short, long, structured and odd ones."""

from __future__ import annotations

import datetime
from typing import Any

from services.notion.publishers import PublishDocument
from shared.blocks import Block

ODD_UNICODE = (
    "Zoë\u2019s café — naïve “quotes” 東京タワーの夜景 👩‍👩‍👧‍👦 family 🇫🇷🇩🇪 flags 👍🏽 "
    "e\u0301\u0301 combining שָׁלוֹם עולם مرحبا بالعالم 𠀋𠀌 \u200bzero\u2060width "
    # Mathematical Fraktur "Unicode": astral letters that look like Latin ones.
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522 "
    "tab\there \x00nul \x07bell \x1bescape \ufeffbom \ud800lone surrogate"
)


def make_document(**overrides: Any) -> PublishDocument:
    """Return a short, complete document; ``overrides`` replace its fields."""
    values: dict[str, Any] = {
        "link_id": 42,
        "url": "https://example.com/articles/kb?id=1&lang=en",
        "title": "How Queues Work",
        "text": "First paragraph of the article.\nSecond paragraph, with detail.\nThird one.",
        "summary": "Queues decouple producers from consumers.",
        "category": "Technology",
        "tags": ["queues", "redis", "dramatiq"],
        "sentiment": "positive",
        "sentiment_score": 0.61,
        "authors": ["Ada Lovelace", "Grace Hopper"],
        "published_at": datetime.date(2024, 3, 5),
        "language": "en",
        "blocks": [],
    }
    values.update(overrides)
    return PublishDocument(**values)


def structured_blocks(sections: int, paragraphs: int = 6, words: int = 60) -> list[Block]:
    """Return an article with headings, paragraphs, both kinds of lists, quotes and code."""
    blocks: list[Block] = []
    for section in range(sections):
        blocks.append({"type": "heading", "level": 1 + section % 3, "text": f"Section {section}"})
        for paragraph in range(paragraphs):
            text = " ".join(f"s{section}p{paragraph}w{word}" for word in range(words))
            blocks.append({"type": "paragraph", "text": text})
        blocks += [
            {"type": "list_item", "ordered": False, "text": f"point {item} of {section}"}
            for item in range(3)
        ]
        blocks += [
            {"type": "list_item", "ordered": True, "text": f"step {item} of {section}"}
            for item in range(3)
        ]
        blocks.append({"type": "quote", "text": f"A quote in section {section}."})
        blocks.append({"type": "code", "text": f"def section_{section}():\n    return {section}\n"})
    return blocks


def long_document(characters: int = 55_000, **overrides: Any) -> PublishDocument:
    """Return a structured document of at least ``characters`` characters of text."""
    sections = 1
    while sum(len(block["text"]) for block in structured_blocks(sections)) < characters:
        sections += 1
    blocks = structured_blocks(sections)
    text = "\n".join(block["text"] for block in blocks)
    return make_document(text=text, blocks=blocks, **overrides)


def paragraphs_document(count: int, words: int = 40, **overrides: Any) -> PublishDocument:
    """Return a document of ``count`` numbered paragraphs (no other structure)."""
    lines = [f"Paragraph {index}: " + "lorem ipsum " * (words // 2) for index in range(count)]
    blocks: list[Block] = [{"type": "paragraph", "text": line.strip()} for line in lines]
    return make_document(text="\n".join(lines), blocks=blocks, **overrides)
