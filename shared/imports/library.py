"""The library metadata kept on a link: from a record, merged, and as it is shown.

A link keeps the user's own title, tags, saved date, read status, favourite flag,
note, highlights and folder from the export(s) it came from. Importing it again, or
from another service, merges rather than overwrites: tags and highlights are joined,
the earliest saved date and the most advanced status are kept, a title or folder
already kept stays, a different note is appended.
"""

from __future__ import annotations

from typing import Any

from shared.imports.records import MAX_HIGHLIGHTS, MAX_NOTE, MAX_TAGS, READ_STATUSES, Record
from shared.models import LIBRARY_FIELDS, Link

#: The link's columns that hold library metadata.
FIELDS = LIBRARY_FIELDS


def values_of(record: Record, source: str) -> dict[str, Any]:
    """Return the library values one record brings (None where it has nothing)."""
    return {
        "user_title": record.title,
        "user_tags": list(record.tags) or None,
        "saved_at": record.saved_at,
        "read_status": record.read_status,
        "favourite": record.favourite,
        "note": record.note,
        "highlights": list(record.highlights) or None,
        "folder": record.folder,
        "imported_from": source,
    }


def stored_values(link: Link) -> dict[str, Any]:
    """Return the library values a link holds."""
    return {name: getattr(link, name) for name in FIELDS}


def _union(first: list[Any] | None, second: list[Any] | None, key: Any, limit: int) -> Any:
    if not second:
        return first
    joined = list(first or [])
    seen = {key(item) for item in joined}
    for item in second:
        if key(item) not in seen:
            seen.add(key(item))
            joined.append(item)
    return joined[:limit] or None


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Return ``old`` with what ``new`` adds (see the module's rules)."""
    merged = dict(old)
    for name in ("user_title", "folder", "imported_from"):
        merged[name] = old.get(name) or new.get(name)
    merged["user_tags"] = _union(
        old.get("user_tags"), new.get("user_tags"), lambda tag: str(tag).casefold(), MAX_TAGS
    )
    merged["highlights"] = _union(
        old.get("highlights"),
        new.get("highlights"),
        lambda item: item.get("text") if isinstance(item, dict) else item,
        MAX_HIGHLIGHTS,
    )
    dates = [value for value in (old.get("saved_at"), new.get("saved_at")) if value is not None]
    merged["saved_at"] = min(dates) if dates else None
    statuses = [s for s in (old.get("read_status"), new.get("read_status")) if s in READ_STATUSES]
    merged["read_status"] = max(statuses, key=READ_STATUSES.index) if statuses else None
    flags = [flag for flag in (old.get("favourite"), new.get("favourite")) if flag is not None]
    merged["favourite"] = any(flags) if flags else None
    note, more = old.get("note"), new.get("note")
    merged["note"] = (
        f"{note}\n\n{more}"[:MAX_NOTE] if note and more and more not in note else note or more
    )
    return merged


def library_view(link: Link) -> dict[str, Any] | None:
    """Return what ``GET /api/links/{id}`` shows of the library metadata (None: none kept)."""
    values = stored_values(link)
    if all(value in (None, [], "") for value in values.values()):
        return None
    saved = values["saved_at"]
    return {
        "title": values["user_title"],
        "tags": values["user_tags"] or [],
        "saved_at": saved.isoformat(timespec="seconds") + "Z" if saved else None,
        "read_status": values["read_status"],
        "favourite": values["favourite"],
        "note": values["note"],
        "highlights": values["highlights"] or [],
        "folder": values["folder"],
        "imported_from": values["imported_from"],
    }


def front_matter(link: Link) -> dict[str, Any]:
    """Return the Markdown front matter lines of a link's library metadata ({} when none).

    Keys are only present when the link has the value, so pages of links that were
    never imported are unchanged.
    """
    view = library_view(link)
    if view is None:
        return {}
    matter: dict[str, Any] = {}
    if view["title"]:
        matter["user_title"] = view["title"]
    if view["tags"]:
        matter["user_tags"] = view["tags"]
    if view["saved_at"]:
        matter["saved"] = view["saved_at"]
    for name in ("read_status", "favourite", "folder", "note"):
        if view[name] not in (None, ""):
            matter[name] = view[name]
    if view["highlights"]:
        matter["highlights"] = [
            h.get("text") if isinstance(h, dict) else h for h in view["highlights"]
        ]
    return matter


def merged_tags(user_tags: list[str] | None, enriched: list[str] | None) -> list[dict[str, str]]:
    """Return the user's tags then the enrichment's, once each, marked by their source.

    ``source`` is ``user`` (the user's own, from an import), ``enrichment`` (the AI's) or
    ``both`` when the two agree (compared without case).
    """
    merged: dict[str, dict[str, str]] = {}
    for source, tags in (("user", user_tags or []), ("enrichment", enriched or [])):
        for tag in tags:
            key = str(tag).casefold()
            if key in merged:
                if merged[key]["source"] != source:
                    merged[key]["source"] = "both"
            else:
                merged[key] = {"name": str(tag), "source": source}
    return list(merged.values())
