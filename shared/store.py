"""Reading and writing what the stages produce, keyed by link.

Every write is an upsert: a retried or redelivered stage rewrites its row, never adds one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from shared import items, search
from shared.blocks import Block
from shared.db import database
from shared.errors import MissingInput
from shared.models import Content, Enrichment, Link, Publication, utcnow
from shared.tags import vocabulary

#: What enrichment reads of an article (not its blocks, a larger JSON document).
ARTICLE_FIELDS = ("link", "title", "text", "language", "page_type")
#: The enrichment's own columns (``tags`` is written from the tag names).
ENRICHMENT_COLUMNS = tuple(
    name
    for name in Enrichment._meta.sorted_field_names
    if name not in ("id", "link", "tags", "created_at", "updated_at")
)


def link_of_item(item_id: int) -> Link:
    """Return the link a task item works on."""
    link = items.current().link_of_item(item_id)
    if link is None:
        raise MissingInput(f"task item {item_id} does not exist")
    return link


def save_content(
    link_id: int,
    *,
    final_url: str,
    title: str,
    text: str,
    authors: Sequence[str],
    published_at: date | None,
    language: str | None,
    top_image: str | None,
    word_count: int,
    content_hash: str,
    blocks: Sequence[Block] | None = None,
    canonical_url: str | None = None,
    page_type: str | None = None,
) -> int | None:
    """Store (or replace) a link's extracted article.

    Return the id of the first link with the same article (same content hash), if any:
    the same article reached through two URLs is stored, and reported as a duplicate.
    """
    values = {
        "blocks": list(blocks) if blocks is not None else None,
        "canonical_url": canonical_url,
        "page_type": page_type,
        "final_url": final_url,
        "title": title,
        "text": text,
        "authors": list(authors),
        "published_at": published_at,
        "language": language,
        "top_image": top_image,
        "word_count": word_count,
        "content_hash": content_hash,
    }
    duplicate_of = items.current().save_content(link_id, now=utcnow(), values=values)
    search.parsed(link_id)
    return duplicate_of


def content_of(link_id: int) -> Content:
    """Return a link's article; raise ``MissingInput`` if it was never parsed."""
    return _parsed(link_id, Content.get_or_none(Content.link == link_id))


def _parsed(link_id: int, content: Content | None) -> Content:
    if content is None:
        raise MissingInput(f"link {link_id} has no parsed content; run the parse stage first")
    return content


def article_of(link_id: int) -> Content:
    """Return a link's article title, text and language (what enrichment reads).

    Raise ``MissingInput`` if it was never parsed. The blocks, a larger JSON document,
    are neither read nor decoded.
    """
    content = items.current().article_of(link_id)
    return _parsed(link_id, content)


def popular_tags(limit: int = 2000) -> list[str]:
    """Return the vocabulary's tags, most used first (tags no link carries yet last)."""
    return [tag.name for tag in vocabulary(limit)]


def save_enrichment(link_id: int, *, tags: Iterable[str], **values: Any) -> None:
    """Store (or replace) a link's enrichment and its tags."""
    unknown = set(values).difference(ENRICHMENT_COLUMNS)
    if unknown:
        raise ValueError(f"not enrichment columns: {', '.join(sorted(unknown))}")
    names = list(dict.fromkeys(tags))
    items.current().save_enrichment(link_id, now=utcnow(), names=names, values=values)
    search.reindex(link_id)


def enrichment_of(link_id: int) -> Enrichment:
    """Return a link's enrichment; raise ``MissingInput`` if it was never enriched."""
    enrichment = Enrichment.get_or_none(Enrichment.link == link_id)
    if enrichment is None:
        raise MissingInput(f"link {link_id} has no enrichment; run the enrich stage first")
    return enrichment


def publication_of(link_id: int) -> Publication | None:
    """Return where a link was published, if it was."""
    return Publication.get_or_none(Publication.link == link_id)


def save_publication(
    link_id: int, *, publisher: str, page_id: str, page_url: str | None, path: str | None
) -> None:
    """Store (or replace) where a link was published."""
    now = utcnow()
    with database.atomic():
        upsert(
            Publication,
            link_id,
            {"publisher": publisher, "page_id": page_id, "page_url": page_url, "path": path},
            now,
        )
        set_link_status(link_id, "published", now)


def upsert(model: Any, link_id: int, values: dict[str, Any], now: datetime) -> None:
    """Insert or replace the row of ``model`` for a link (a stage's result)."""
    row = {**values, "link": link_id, "updated_at": now}
    update = {getattr(model, key): value for key, value in row.items() if key != "link"}
    model.insert(**row, created_at=now).on_conflict(
        conflict_target=[model.link], update=update
    ).execute()


def set_link_status(link_id: int, status: str, now: datetime) -> None:
    """Record how far a link has come."""
    Link.update(status=status, updated_at=now).where(Link.id == link_id).execute()
