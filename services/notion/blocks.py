"""A page body as Notion blocks, and its requests: every size limit in one place.

The body is the summary (a callout) and then the article's blocks. Notion takes at most
100 blocks per children array, two levels of nesting and 1 000 blocks or 500 KB per
request. The body is wrapped in synced blocks (they show their content inline, with no
frame) of up to :data:`CONTAINER_CHILDREN` blocks each: one request carries up to ten
of them, ~1 000 blocks, instead of 100 (a 50 000-character article takes one request,
not five), and the article lives in a few blocks the integration owns. A republish
replaces those containers and nothing else: what the user wrote before, after or
between them stays (see ``publishers/notion.py``).

The top-level blocks (``units``) are what a page's children list shows, so a publisher
that counts its own children on a page knows which units are already there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.notion import richtext
from shared.blocks import Block

MAX_CHILDREN = 100
MAX_REQUEST_BLOCKS = 1000
MAX_REQUEST_BYTES = 500_000
#: What a request may take of the 500 KB: the rest is a margin for the HTTP layer.
REQUEST_BUDGET = 450_000
#: Children per synced block: ten containers of 98 plus the summary make 991 blocks,
#: within the 1 000 a request may hold (ten of 100 would not fit).
CONTAINER_CHILDREN = 98
#: Bytes of one text block, so that any block fits a request beside the largest page
#: properties (see ``properties.py``).
BLOCK_TEXT_BYTES = 60_000
#: ``{"children":[]}`` of an append, rounded up.
APPEND_OVERHEAD = 64
CONTAINER = "synced_block"
SUMMARY_ICON = "💡"
CODE_LANGUAGE = "plain text"

Unit = dict[str, Any]


def json_size(value: Any) -> int:
    """Return the bytes of ``value`` as JSON, encoded as the HTTP client sends it."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def content_blocks(summary: str, blocks: Sequence[Block]) -> list[Unit]:
    """Return the body as flat Notion blocks: the summary callout, then the article."""
    body: list[Unit] = []
    summary = richtext.clean(summary).strip()
    if summary:
        body += _text_blocks(
            "callout",
            summary,
            {"icon": {"type": "emoji", "emoji": SUMMARY_ICON}, "color": "gray_background"},
        )
    for block in blocks:
        text = richtext.clean(block.get("text", ""))
        if block["type"] != "code":
            text = text.strip()
        if not text.strip():
            continue
        kind, extra = _notion_type(block)
        body += _text_blocks(kind, text, extra)
    return body


def page_body(summary: str, blocks: Sequence[Block], *, overhead: int) -> list[Unit]:
    """Return the body's top-level blocks: containers, each holding part of the body.

    Containers are sized to fill each request: the first beside ``overhead`` (the page's
    properties), the others as appends.
    """
    content = content_blocks(summary, blocks)
    sizes = [json_size(block) + 1 for block in content]
    units: list[Unit] = []
    request = _Request(top=0, blocks=0, size=overhead)
    children: list[Unit] | None = None
    for block, size in zip(content, sizes, strict=True):
        full = children is None or len(children) >= CONTAINER_CHILDREN
        same_request = request.fits(size, new_container=full)
        if not same_request:
            request = _Request(top=0, blocks=0, size=APPEND_OVERHEAD)
        if not same_request or children is None or full:
            moved: list[Unit] = []
            if same_request and children and _numbered(block):
                # A numbered list that crossed into a new container would restart at 1:
                # its start moves along (its blocks are already counted in this request).
                moved = _numbered_tail(children)
                del children[len(children) - len(moved) :]
            children = moved
            units.append(_container(children))
            request.add_container()
        children.append(block)
        request.add(size)
    return units


def batches(units: Sequence[Unit], *, first_overhead: int = APPEND_OVERHEAD) -> list[list[Unit]]:
    """Return ``units`` in order, grouped into as few requests as the limits allow.

    ``first_overhead`` is the bytes of the first request besides its children (a page
    create carries the properties).
    """
    groups: list[list[Unit]] = []
    current: list[Unit] = []
    blocks, size = 0, first_overhead
    for unit in units:
        unit_blocks, unit_size = count_blocks(unit), json_size(unit) + 1
        if current and (
            len(current) == MAX_CHILDREN
            or blocks + unit_blocks > MAX_REQUEST_BLOCKS
            or size + unit_size > REQUEST_BUDGET
        ):
            groups.append(current)
            current, blocks, size = [], 0, APPEND_OVERHEAD
        current.append(unit)
        blocks += unit_blocks
        size += unit_size
    if current:
        groups.append(current)
    return groups


def count_blocks(unit: Unit) -> int:
    """Return the blocks in ``unit``, its nested children included."""
    children = unit[unit["type"]].get("children", ())
    return 1 + sum(count_blocks(child) for child in children)


def body_hash(units: Sequence[Unit]) -> str:
    """Return a digest of a body: a page written from another body must be rewritten."""
    encoded = json.dumps(list(units), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _notion_type(block: Block) -> tuple[str, dict[str, Any]]:
    kind = block["type"]
    if kind == "heading":
        return f"heading_{block.get('level', 1)}", {}
    if kind == "list_item":
        return ("numbered_list_item" if block.get("ordered") else "bulleted_list_item"), {}
    if kind == "code":
        return "code", {"language": CODE_LANGUAGE}
    return kind, {}


def _text_blocks(kind: str, text: str, extra: dict[str, Any]) -> list[Unit]:
    """Return ``text`` as blocks of ``kind``: more than one when one cannot hold it all."""
    made: list[Unit] = []
    items: list[dict[str, Any]] = []
    size = 0
    for item in richtext.rich_text(text):
        item_size = json_size(item) + 1
        if items and (len(items) == richtext.MAX_ITEMS or size + item_size > BLOCK_TEXT_BYTES):
            made.append({"type": kind, kind: {"rich_text": items, **extra}})
            items, size = [], 0
        items.append(item)
        size += item_size
    if items:
        made.append({"type": kind, kind: {"rich_text": items, **extra}})
    return made


def _container(children: list[Unit]) -> Unit:
    return {"type": CONTAINER, CONTAINER: {"synced_from": None, "children": children}}


#: Bytes a container adds around its children.
CONTAINER_OVERHEAD = json_size(_container([])) + 1


@dataclass
class _Request:
    """What a request being filled holds: top-level blocks, all blocks, bytes."""

    top: int
    blocks: int
    size: int

    def fits(self, size: int, *, new_container: bool) -> bool:
        extra = 1 if new_container else 0
        return (
            self.top + extra <= MAX_CHILDREN
            and self.blocks + 1 + extra <= MAX_REQUEST_BLOCKS
            and self.size + size + extra * CONTAINER_OVERHEAD <= REQUEST_BUDGET
        )

    def add_container(self) -> None:
        self.top += 1
        self.blocks += 1
        self.size += CONTAINER_OVERHEAD

    def add(self, size: int) -> None:
        self.blocks += 1
        self.size += size


def _numbered(block: Unit) -> bool:
    return bool(block["type"] == "numbered_list_item")


def _numbered_tail(children: list[Unit]) -> list[Unit]:
    """Return the numbered list that ends ``children``, unless it is all of them."""
    start = len(children)
    while start > 0 and _numbered(children[start - 1]):
        start -= 1
    return children[start:] if start > 0 else []
