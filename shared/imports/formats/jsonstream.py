"""Reading JSON exports incrementally with ijson: one entry in memory at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson

from shared.imports import source
from shared.imports.records import BadFile


def items(raw: BinaryIO, max_bytes: int, prefix: str, label: str) -> Iterator[Any]:
    """Yield the values at ``prefix`` (``bookmarks.item``) of a JSON file, one by one."""
    try:
        yield from ijson.items(source.checked(raw, max_bytes), prefix, use_float=True)
    except ijson.JSONError as ex:
        raise BadFile(f"{label}: not valid JSON ({_short(ex)})") from None


def grouped_items(
    raw: BinaryIO, max_bytes: int, group: str, key: str, prefix: str, label: str
) -> Iterator[tuple[Any, Any]]:
    """Yield (the group's ``key`` value, item) for items at ``group.item.<prefix>.item``.

    Linkwarden nests links in collections: ``collections.item.links.item``, each under
    the ``name`` of its collection (read before its links).
    """
    group_key = f"{group}.item.{key}"
    item_prefix = f"{group}.item.{prefix}.item"
    current: Any = None
    builder: Any = None
    depth = 0
    try:
        for path, event, value in ijson.parse(source.checked(raw, max_bytes), use_float=True):
            if builder is not None:
                builder.event(event, value)
                if event in ("start_map", "start_array"):
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                    if depth == 0:
                        yield current, builder.value
                        builder = None
            elif path == item_prefix and event in ("start_map", "start_array"):
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                depth = 1
            elif path == group_key and event in ("string", "number"):
                current = value
            elif path == f"{group}.item" and event == "start_map":
                current = None
    except ijson.JSONError as ex:
        raise BadFile(f"{label}: not valid JSON ({_short(ex)})") from None


def _short(ex: Exception) -> str:
    return str(ex).splitlines()[0][:200] if str(ex) else type(ex).__name__
