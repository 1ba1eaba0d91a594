"""Notion's documented request limits and the checks the loopback server makes with them.

Every limit answers 400 ``validation_error`` when broken, with Notion's wording: 2 000
UTF-16 units per text, 100 items per rich-text array, 100 blocks per children array, two
levels of nesting, 1 000 blocks and 500 KB per request, 2 000-character URLs, 100 options
of at most 100 characters without commas. It imports nothing from the service it checks.
"""

from __future__ import annotations

from typing import Any

NOTION_VERSION = "2025-09-03"
MAX_TEXT = 2000
MAX_ITEMS = 100
MAX_CHILDREN = 100
MAX_DEPTH = 2
MAX_REQUEST_BLOCKS = 1000
MAX_REQUEST_BYTES = 500_000
MAX_URL = 2000
MAX_OPTIONS = 100
MAX_OPTION_NAME = 100

#: Block types whose payload holds ``rich_text``.
TEXT_BLOCKS = {
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "quote",
    "callout",
    "toggle",
    "code",
}
#: Block types that may hold children in a request.
PARENT_BLOCKS = {
    "paragraph",
    "bulleted_list_item",
    "numbered_list_item",
    "quote",
    "callout",
    "toggle",
    "synced_block",
}
CODE_LANGUAGES = {"plain text", "python", "javascript", "json", "bash", "markdown", "sql"}


class NotionError(Exception):
    """An error answer: status, Notion's code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = {}
        self.additional_data: dict[str, Any] | None = None


def invalid(message: str) -> NotionError:
    """Return a 400 ``validation_error``."""
    return NotionError(400, "validation_error", message)


def not_found(kind: str, object_id: str) -> NotionError:
    """Return the 404 Notion answers for an object the integration cannot see."""
    return NotionError(
        404,
        "object_not_found",
        f"Could not find {kind} with ID: {object_id}. Make sure the relevant pages and "
        "databases are shared with your integration.",
    )


def check_array(value: Any, where: str, limit: int) -> list[Any]:
    """Return ``value`` once checked to be an array of at most ``limit`` items."""
    if not isinstance(value, list):
        raise invalid(f"body failed validation: {where} should be an array.")
    if len(value) > limit:
        raise invalid(
            f"body failed validation: {where}.length should be ≤ `{limit}`, "
            f"instead was `{len(value)}`."
        )
    return value


def check_children(children: Any, where: str, depth: int, counter: list[int]) -> None:
    """Check a children array (nested ones too); count its blocks into ``counter[0]``."""
    for index, block in enumerate(check_array(children, where, MAX_CHILDREN)):
        path = f"{where}[{index}]"
        counter[0] += 1
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in TEXT_BLOCKS | {"synced_block"} or not isinstance(block.get(kind), dict):
            raise invalid(f"body failed validation: {path} has no supported block type.")
        payload = block[kind]
        if kind in TEXT_BLOCKS:
            check_rich_text(payload.get("rich_text"), f"{path}.{kind}.rich_text")
        if kind == "code" and payload.get("language") not in CODE_LANGUAGES:
            raise invalid(f"{path}.code.language should be a known language.")
        if kind == "synced_block" and payload.get("synced_from") is not None:
            raise invalid(f"{path}.synced_block.synced_from must reference a synced block.")
        nested = payload.get("children")
        if nested is None:
            continue
        if kind not in PARENT_BLOCKS:
            raise invalid(f"{path}.{kind}.children should be not present.")
        if depth >= MAX_DEPTH:
            raise invalid(
                f"body failed validation: {path}.{kind}.children should be not present: "
                f"a request holds at most {MAX_DEPTH} levels of nesting."
            )
        check_children(nested, f"{path}.{kind}.children", depth + 1, counter)


def check_rich_text(items: Any, where: str) -> None:
    """Check a rich-text array: its length, each text's length and link."""
    for index, item in enumerate(check_array(items, where, MAX_ITEMS)):
        text = item.get("text") if isinstance(item, dict) else None
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str):
            raise invalid(f"body failed validation: {where}[{index}].text.content is not text.")
        length = utf16_len(content)
        if length > MAX_TEXT:
            raise invalid(
                f"body failed validation: {where}[{index}].text.content.length should be "
                f"≤ `{MAX_TEXT}`, instead was `{length}`."
            )
        link = text.get("link") if isinstance(text, dict) else None
        if link and len(str(link.get("url", ""))) > MAX_URL:
            raise invalid(f"{where}[{index}].text.link.url.length should be ≤ `{MAX_URL}`.")


def check_option_name(option: Any, where: str) -> str:
    """Return a select option's name once checked (defined, no commas, not too long)."""
    if not isinstance(option, dict) or not isinstance(option.get("name"), str):
        raise invalid(f"{where}.name should be defined.")
    name = str(option["name"])
    if "," in name:
        raise invalid(f"{where}.name should not contain commas, instead was `{name}`.")
    if len(name) > MAX_OPTION_NAME or not name.strip():
        raise invalid(f"{where}.name.length should be ≤ `{MAX_OPTION_NAME}` and not empty.")
    return name


def utf16_len(text: str) -> int:
    """Return the length of ``text`` as Notion counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def bare(notion_id: str) -> str:
    """Return a Notion id without dashes, lower-cased: ids compare equal either way."""
    return notion_id.replace("-", "").lower()
