"""A page body as Notion blocks, packed into as few requests as Notion's limits allow."""

from __future__ import annotations

import math
from typing import Any

from services.notion.blocks import (
    CONTAINER,
    CONTAINER_CHILDREN,
    MAX_CHILDREN,
    MAX_REQUEST_BLOCKS,
    REQUEST_BUDGET,
    batches,
    body_hash,
    content_blocks,
    count_blocks,
    json_size,
    page_body,
)
from services.notion.richtext import MAX_ITEMS, MAX_TEXT, utf16_len
from shared.blocks import Block
from tests.notion.documents import structured_blocks


def texts(unit: dict[str, Any]) -> str:
    return "".join(item["text"]["content"] for item in unit[unit["type"]]["rich_text"])


def flatten(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for unit in units:
        if unit["type"] == CONTAINER:
            flat += unit[CONTAINER]["children"]
        else:
            flat.append(unit)
    return flat


def assert_within_limits(request: list[dict[str, Any]], overhead: int = 64) -> None:
    assert len(request) <= MAX_CHILDREN
    assert sum(count_blocks(unit) for unit in request) <= MAX_REQUEST_BLOCKS
    assert json_size({"children": request}) + overhead <= REQUEST_BUDGET + 64
    for unit in request:
        kind = unit["type"]
        children = unit[kind].get("children", [])
        assert len(children) <= MAX_CHILDREN
        for child in children:
            assert "children" not in child[child["type"]]  # two levels at most
        for block in [unit, *children]:
            items = block[block["type"]].get("rich_text", [])
            assert len(items) <= MAX_ITEMS
            assert all(utf16_len(item["text"]["content"]) <= MAX_TEXT for item in items)


def test_the_summary_comes_first_as_a_callout_then_each_kind_of_block() -> None:
    blocks: list[Block] = [
        {"type": "heading", "level": 2, "text": "A heading"},
        {"type": "paragraph", "text": "  A paragraph.  "},
        {"type": "list_item", "ordered": False, "text": "a point"},
        {"type": "list_item", "ordered": True, "text": "a step"},
        {"type": "quote", "text": "A quote."},
        {"type": "code", "text": "  indented = True\n"},
        {"type": "paragraph", "text": "   "},
    ]

    body = content_blocks("The summary.", blocks)

    assert [unit["type"] for unit in body] == [
        "callout",
        "heading_2",
        "paragraph",
        "bulleted_list_item",
        "numbered_list_item",
        "quote",
        "code",
    ]
    assert texts(body[0]) == "The summary."
    assert body[0]["callout"]["icon"] == {"type": "emoji", "emoji": "💡"}
    assert texts(body[2]) == "A paragraph."
    assert texts(body[6]) == "  indented = True\n"  # code keeps its whitespace
    assert body[6]["code"]["language"] == "plain text"


def test_an_empty_summary_leaves_out_the_callout() -> None:
    body = content_blocks("  ", [{"type": "paragraph", "text": "Text."}])

    assert [unit["type"] for unit in body] == ["paragraph"]


def test_a_short_body_is_one_container_of_the_integration_in_one_request() -> None:
    blocks = structured_blocks(3)
    units = page_body("Sum.", blocks, overhead=2000)

    assert [unit["type"] for unit in units] == [CONTAINER]
    assert flatten(units) == content_blocks("Sum.", blocks)
    assert len(batches(units, first_overhead=2000)) == 1


def test_a_long_body_is_wrapped_in_synced_blocks_and_takes_one_request() -> None:
    blocks = structured_blocks(40)  # 520 blocks, ~60 000 characters
    assert sum(len(block["text"]) for block in blocks) > 50_000

    units = page_body("Sum.", blocks, overhead=2000)
    requests = batches(units, first_overhead=2000)

    assert units[0][CONTAINER]["children"][0]["type"] == "callout"
    assert {unit["type"] for unit in units} == {CONTAINER}
    assert all(len(unit[CONTAINER]["children"]) <= CONTAINER_CHILDREN for unit in units)
    assert flatten(units) == content_blocks("Sum.", blocks)
    assert len(requests) == 1
    assert_within_limits(requests[0], 2000)


def test_a_very_long_body_needs_the_fewest_requests_its_size_allows() -> None:
    blocks: list[Block] = [
        {"type": "paragraph", "text": f"Paragraph {index} " + "lorem ipsum " * 30}
        for index in range(4000)
    ]

    units = page_body("Sum.", blocks, overhead=2000)
    requests = batches(units, first_overhead=2000)

    content = content_blocks("Sum.", blocks)
    by_blocks = math.ceil(len(content) / (MAX_REQUEST_BLOCKS * CONTAINER_CHILDREN / 100))
    by_bytes = math.ceil(sum(map(json_size, content)) / REQUEST_BUDGET)
    assert len(requests) <= max(by_blocks, by_bytes) + 1
    assert [unit for request in requests for unit in request] == units
    for request in requests:
        assert_within_limits(request)


def test_a_huge_paragraph_becomes_several_blocks_of_at_most_100_items() -> None:
    text = "word " * 100_000  # 500 000 characters

    body = content_blocks("", [{"type": "paragraph", "text": text}])

    assert len(body) > 2
    assert "".join(texts(unit) for unit in body) == text.strip()
    for unit in body:
        assert len(unit["paragraph"]["rich_text"]) <= MAX_ITEMS


def test_multibyte_text_is_split_by_bytes_too() -> None:
    text = "東京" * 150_000  # 300 000 characters, 900 000 bytes in UTF-8

    units = page_body("", [{"type": "paragraph", "text": text}], overhead=100)
    requests = batches(units, first_overhead=100)

    assert "".join(texts(unit) for unit in flatten(units)) == text
    assert len(requests) >= 2
    for request in requests:
        assert_within_limits(request)


def test_a_numbered_list_is_not_split_across_two_containers() -> None:
    blocks: list[Block] = [{"type": "paragraph", "text": f"p{index}"} for index in range(90)]
    blocks += [
        {"type": "list_item", "ordered": True, "text": f"step {index}"} for index in range(20)
    ]
    blocks += [{"type": "paragraph", "text": f"q{index}"} for index in range(100)]

    units = page_body("", blocks, overhead=100)

    containers = [unit[CONTAINER]["children"] for unit in units]
    holding = [
        index
        for index, children in enumerate(containers)
        if any(child["type"] == "numbered_list_item" for child in children)
    ]
    assert len(holding) == 1
    assert len(containers[0]) == 90


def test_the_hash_changes_with_the_body_only() -> None:
    first = page_body("Sum.", structured_blocks(2), overhead=100)
    again = page_body("Sum.", structured_blocks(2), overhead=100)
    other = page_body("Another summary.", structured_blocks(2), overhead=100)

    assert body_hash(first) == body_hash(again)
    assert body_hash(first) != body_hash(other)
