"""``GET /api/links``: links filtered by tag, category, status and a full-text query."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.db import database, is_postgres
from shared.imports.library import merged_tags
from shared.models import Content, Enrichment, Link, LinkTag, Publication, Tag
from shared.search import current
from shared.search.base import Match
from shared.views import iso


@dataclass(frozen=True)
class LinkFilters:
    """What a listing asks for; every filter is optional and they all apply."""

    #: Full-text query in web search syntax: words, "a phrase", -excluded, OR.
    q: str | None = None
    #: A tag of the link, the enrichment's or the user's (any case).
    tag: str | None = None
    #: The enrichment's category (any case).
    category: str | None = None
    #: The link's status: ``new``, ``parsed``, ``enriched``, ``published`` or ``failed``.
    status: str | None = None
    limit: int = 50
    offset: int = 0


#: The columns a listing reads, as ``alias.column``; a row is read by their names.
_COLUMNS = (
    "l.id", "l.url", "l.status", "l.user_title", "l.user_tags", "l.created_at",
    "l.updated_at", "c.title", "c.language", "e.summary", "e.category", "e.tags",
    "e.sentiment", "e.language", "p.publisher", "p.page_id", "p.page_url", "p.path",
)  # fmt: skip
_FROM = (
    f"FROM {Link._meta.table_name} l"
    f" LEFT JOIN {Content._meta.table_name} c ON c.link_id = l.id"
    f" LEFT JOIN {Enrichment._meta.table_name} e ON e.link_id = l.id"
    f" LEFT JOIN {Publication._meta.table_name} p ON p.link_id = l.id"
)
_ENRICHMENT_TAG = (
    f"l.id IN (SELECT lt.link_id FROM {LinkTag._meta.table_name} lt"
    f" JOIN {Tag._meta.table_name} t ON t.id = lt.tag_id WHERE LOWER(t.name) = LOWER(?))"
)


def _filters(filters: LinkFilters, match: Match) -> tuple[str, list[Any]]:
    """Return the WHERE clause of ``filters`` (and of the query's match) and its params."""
    conditions: list[str] = []
    params: list[Any] = []
    if filters.status:
        conditions.append("l.status = ?")
        params.append(filters.status)
    if filters.category:
        conditions.append("LOWER(e.category) = LOWER(?)")
        params.append(filters.category)
    if filters.tag:
        conditions.append(f"({_ENRICHMENT_TAG} OR {current().user_tag_condition()})")
        params += [filters.tag, filters.tag]
    if match.condition:
        conditions.append(match.condition)
        params += match.condition_params
    return " AND ".join(conditions) or "1 = 1", params


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    if is_postgres():
        sql = sql.replace("?", "%s")
    return list(database.execute_sql(sql, params).fetchall())


def _tags(enriched: str | None, user: str | None) -> list[str]:
    merged = merged_tags(
        json.loads(user) if user else None, json.loads(enriched) if enriched else None
    )
    return [tag["name"] for tag in merged]


def link_entry(row: tuple[Any, ...]) -> dict[str, Any]:
    """Return one listed link: what it is, what the AI made of it, where its page is."""
    value = dict(zip(_COLUMNS, row, strict=True))
    publication = (
        {name: value[f"p.{name}"] for name in ("publisher", "page_id", "page_url", "path")}
        if value["p.publisher"]
        else None
    )
    return {
        "id": value["l.id"],
        "url": value["l.url"],
        "status": value["l.status"],
        "title": value["c.title"] or value["l.user_title"] or value["l.url"],
        "summary": value["e.summary"],
        "category": value["e.category"],
        "tags": _tags(value["e.tags"], value["l.user_tags"]),
        "sentiment": value["e.sentiment"],
        "language": value["e.language"] or value["c.language"],
        "publication": publication,
        # Where to read it: the Notion page, else the Markdown file.
        "page": (value["p.page_url"] or value["p.path"]) if publication else None,
        "created_at": iso(Link.created_at.python_value(value["l.created_at"])),
        "updated_at": iso(Link.updated_at.python_value(value["l.updated_at"])),
    }


def list_links(filters: LinkFilters) -> dict[str, Any]:
    """Return one page of the links ``filters`` select: best match first, else newest."""
    query = (filters.q or "").strip()
    match = current().match(query) if query else Match()
    where, params = _filters(filters, match)
    tail = f"{_FROM} {match.join} WHERE {where}"
    total = _rows(f"SELECT COUNT(*) {tail}", [*match.join_params, *params])[0][0]
    order = f"{match.order}, l.id DESC" if match.order else "l.id DESC"
    page = _rows(
        f"SELECT {', '.join(_COLUMNS)} {tail} ORDER BY {order} LIMIT ? OFFSET ?",
        [*match.join_params, *params, filters.limit, filters.offset],
    )
    return {
        "links": [link_entry(row) for row in page],
        "total": int(total),
        "limit": filters.limit,
        "offset": filters.offset,
    }
