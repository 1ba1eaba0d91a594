"""What a product page's structured data says about its product.

Shops describe their product in schema.org JSON-LD (``Product``: name, description,
brand, offers) for search engines, and that description is the one the shop wrote, often
missing from what a generic extractor keeps (it sits in a tab, an accordion or a script).
:func:`product_blocks` reads it; :func:`merge` adds to an extraction what it lacks.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

from lxml.html import HtmlElement

from shared.blocks import Block

_TOKEN = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]+>")
#: Share of a structured block's words an extraction must hold to count as having it.
PRESENT = 0.8


def product_blocks(tree: HtmlElement) -> list[Block]:
    """Return the name and description of the page's JSON-LD product, if it has one."""
    for item in _json_ld_items(tree):
        kinds = item.get("@type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(kind in ("Product", "ProductGroup") for kind in kinds):
            continue
        description = _plain(item.get("description"))
        if not description:
            continue
        blocks: list[Block] = []
        name = _plain(item.get("name"))
        if name:
            blocks.append({"type": "heading", "text": name, "level": 2})
        blocks += [
            {"type": "paragraph", "text": part}
            for part in (" ".join(line.split()) for line in description.split("\n"))
            if part
        ]
        return blocks
    return []


def merge(structured: list[Block], blocks: list[Block]) -> list[Block]:
    """Put the structured blocks the extraction lacks in front of its ``blocks``."""
    have = {token for block in blocks for token in _TOKEN.findall(block["text"].lower())}
    missing = []
    for block in structured:
        words = _TOKEN.findall(block["text"].lower())
        if words and sum(word in have for word in words) < PRESENT * len(words):
            missing.append(block)
    return missing + blocks


def _json_ld_items(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Yield every JSON-LD object of the page (``@graph`` members and lists included)."""
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        try:
            data = json.loads(str(script))
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                yield node
                graph = node.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))


def _plain(value: object) -> str:
    """Return a JSON-LD text value as plain text (entities decoded, tags dropped)."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if not isinstance(value, str):
        return ""
    text = html.unescape(_TAG.sub("\n", value.replace("<br>", "\n")))
    return text.strip()
