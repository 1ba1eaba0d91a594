"""Reading and writing what the stages produce, keyed by link.

Every write is an upsert: a retried or redelivered stage rewrites its row, never adds one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from peewee import fn

from shared import hotpath
from shared.blocks import Block
from shared.db import database
from shared.errors import MissingInput
from shared.models import Content, Enrichment, Link, LinkTag, Publication, Tag, TaskItem, utcnow


def link_of_item(item_id: int) -> Link:
    """Return the link a task item works on."""
    if hotpath.usable():
        link = hotpath.link_of_item(item_id)
    else:
        link = Link.select().join(TaskItem).where(TaskItem.id == item_id).first()
    if link is None:
        raise MissingInput(f"task item {item_id} does not exist")
    return link


def _upsert(model: Any, link_id: int, values: dict[str, Any]) -> None:
    now = utcnow()
    row = {**values, "link": link_id, "updated_at": now}
    update = {getattr(model, key): value for key, value in row.items() if key != "link"}
    model.insert(**row, created_at=now).on_conflict(
        conflict_target=[model.link], update=update
    ).execute()


def _set_link_status(link_id: int, status: str) -> None:
    Link.update(status=status, updated_at=utcnow()).where(Link.id == link_id).execute()


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
) -> int | None:
    """Store (or replace) a link's extracted article.

    Return the id of the first link with the same article (same content hash), if any:
    the same article reached through two URLs is stored, and reported as a duplicate.
    """
    values = {
        "blocks": list(blocks) if blocks is not None else None,
        "canonical_url": canonical_url,
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
    if hotpath.usable():
        return hotpath.save_content(link_id, now=utcnow(), values=values)
    with database.atomic():
        first = (
            Content.select(Content.link)
            .where((Content.content_hash == content_hash) & (Content.link != link_id))
            .order_by(Content.link)
            .first()
        )
        duplicate_of = first.link_id if first else None
        _upsert(Content, link_id, {**values, "duplicate_of": duplicate_of})
        _set_link_status(link_id, "parsed")
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
    if hotpath.usable():
        content = hotpath.article_of(link_id)
    else:
        content = (
            Content.select(Content.link, Content.title, Content.text, Content.language)
            .where(Content.link == link_id)
            .first()
        )
    return _parsed(link_id, content)


def popular_tags(limit: int = 50) -> list[str]:
    """Return the most used tags, most used first."""
    uses = fn.COUNT(LinkTag.link)
    query = (
        Tag.select(Tag.name, uses.alias("uses"))
        .join(LinkTag)
        .group_by(Tag.id, Tag.name)
        .order_by(uses.desc(), Tag.name)
        .limit(limit)
    )
    return [row.name for row in query]


def save_enrichment(link_id: int, *, tags: Iterable[str], **values: Any) -> None:
    """Store (or replace) a link's enrichment and its tags."""
    names = list(dict.fromkeys(tags))
    if hotpath.usable():
        hotpath.save_enrichment(link_id, now=utcnow(), names=names, values=values)
        return
    with database.atomic():
        _upsert(Enrichment, link_id, {**values, "tags": names})
        LinkTag.delete().where(LinkTag.link == link_id).execute()
        if names:
            # One statement, in name order: workers saving the same new tags at once
            # take their locks in one order (no deadlock) and in one round trip.
            Tag.insert_many(
                [{"name": name} for name in sorted(names)]
            ).on_conflict_ignore().execute()
            tag_ids = [tag.id for tag in Tag.select(Tag.id).where(Tag.name.in_(names))]
            LinkTag.insert_many([{"link": link_id, "tag": tag_id} for tag_id in tag_ids]).execute()
        _set_link_status(link_id, "enriched")


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
    with database.atomic():
        _upsert(
            Publication,
            link_id,
            {"publisher": publisher, "page_id": page_id, "page_url": page_url, "path": path},
        )
        _set_link_status(link_id, "published")
