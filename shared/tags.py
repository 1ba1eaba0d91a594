"""The tag vocabulary in the database: list, claim, merge and rename tags.

A tag's ``key`` is its normal form, computed by the ai service (``services/ai/tagwords``)
and unique: :func:`claim_tags` inserts a tag or gets the one already holding its key in
one statement, so that two workers saving "Machine learning" and "machine-learning" at
once end up with one tag. Tags added by other services (the Notion database's options)
or renamed by a user have no key until the ai service gives them one
(:func:`unkeyed_tags`, :func:`give_key`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import JOIN, IntegrityError, fn

from shared import search
from shared.db import database
from shared.errors import InvalidRequest, NotFound
from shared.models import Enrichment, Link, LinkTag, Tag, utcnow

#: What a tag's ``source`` may say.
SOURCES = ("ai", "user", "notion", "edit")
MAX_NAME_CHARS = Tag.name.max_length


@dataclass(frozen=True)
class TagUse:
    """A tag of the vocabulary and how many links carry it."""

    name: str
    source: str
    uses: int


def vocabulary(limit: int | None = None) -> list[TagUse]:
    """Return the vocabulary's tags, the most used first (tags no link carries too)."""
    uses = fn.COUNT(LinkTag.link)
    query = (
        Tag.select(Tag.name, Tag.source, uses.alias("uses"))
        .join(LinkTag, JOIN.LEFT_OUTER)
        .group_by(Tag.id, Tag.name, Tag.source)
        .order_by(uses.desc(), Tag.name)
    )
    if limit is not None:
        query = query.limit(limit)
    rows: Any = query
    return [TagUse(row.name, row.source or "ai", int(row.uses)) for row in rows]


def newest_tag_id() -> int:
    """Return the id of the tag added last (0 when there is none)."""
    return int(Tag.select(fn.MAX(Tag.id)).scalar() or 0)


def tags_added_since(tag_id: int) -> list[tuple[int, str]]:
    """Return (id, name) of the tags added after the tag ``tag_id``, oldest first."""
    rows: Any = Tag.select(Tag.id, Tag.name).where(Tag.id > tag_id).order_by(Tag.id).tuples()
    return [(int(found), str(name)) for found, name in rows]


def claim_tags(keyed: Sequence[tuple[str, str]], source: str = "ai") -> list[str]:
    """Return the vocabulary's names of ``keyed`` tags ((key, name) pairs), adding new ones.

    A key already held gives its tag's name; a name already in use without a key gets
    the key. Atomic per key: concurrent claims of one key all answer the same name.
    Keys already held are read without a lock or a transaction (the common case: most
    of an article's tags are the vocabulary's); only new keys are inserted.
    """
    pairs = {key: name[:MAX_NAME_CHARS] for key, name in keyed if key and name.strip()}
    if not pairs:
        return []
    held = _held_names(list(pairs))
    missing = sorted(key for key in pairs if key not in held)
    if missing:
        with database.atomic():
            # In key order: claimers of the same new tags lock them in one order.
            rows = [{"key": key, "name": pairs[key], "source": source} for key in missing]
            Tag.insert_many(rows).on_conflict_ignore().execute()
            held.update(_held_names(missing))
            for key in missing:
                if key not in held:
                    # The name is taken by a tag without a key (or with another one).
                    give_key_by_name(pairs[key], key)
                    held[key] = pairs[key]
    return list(dict.fromkeys(held[key] for key, _ in keyed if key in held))


def _held_names(keys: Sequence[str]) -> dict[str, str]:
    """Return the names of the tags holding ``keys``, by key."""
    found: Any = Tag.select(Tag.key, Tag.name).where(Tag.key.in_(list(keys))).tuples()
    return dict(found)


def set_link_tags(link_id: int, names: Sequence[str]) -> None:
    """Make ``names`` the tags of a link, adding those not in the vocabulary (no key yet).

    Inside the caller's transaction; in name order, so that savers of the same new tags
    lock them in one order.
    """
    LinkTag.delete().where(LinkTag.link == link_id).execute()
    if not names:
        return
    Tag.insert_many([{"name": name} for name in sorted(names)]).on_conflict_ignore().execute()
    ids = [tag.id for tag in Tag.select(Tag.id).where(Tag.name.in_(list(names)))]
    LinkTag.insert_many([{"link": link_id, "tag": tag_id} for tag_id in ids]).execute()


def give_key_by_name(name: str, key: str) -> None:
    """Give the tag ``name`` the ``key`` if it has none and no other tag holds it."""
    try:
        with database.atomic():
            Tag.update(key=key).where((Tag.name == name) & Tag.key.is_null()).execute()
    except IntegrityError:
        pass  # another tag took the key meanwhile; this one stays without


def add_tags(names: Iterable[str], source: str) -> int:
    """Add ``names`` to the vocabulary (without a key) where not there; return how many."""
    rows = [{"name": name[:MAX_NAME_CHARS], "source": source} for name in _distinct(names)]
    if not rows:
        return 0
    before = Tag.select().count()
    Tag.insert_many(rows).on_conflict_ignore().execute()
    return int(Tag.select().count() - before)


def unkeyed_tags(limit: int = 500) -> list[str]:
    """Return names of tags that have no key yet."""
    rows: Any = Tag.select(Tag.name).where(Tag.key.is_null()).order_by(Tag.id).limit(limit)
    return [name for (name,) in rows.tuples()]


def give_key(name: str, key: str) -> list[int]:
    """Give the tag ``name`` its ``key``; merge it into the tag that holds the key already.

    Return the links whose tags changed (none unless it was merged).
    """
    holder = Tag.get_or_none(Tag.key == key)
    if holder is None or holder.name == name:
        give_key_by_name(name, key)
        return []
    return merge_tags([name], holder.name)


def user_tag_names() -> set[str]:
    """Return the distinct tags users brought with their imported links."""
    names: set[str] = set()
    query = Link.select(Link.user_tags).where(Link.user_tags.is_null(False))
    for (tags,) in query.tuples().iterator():
        names.update(tag.strip() for tag in tags or [] if isinstance(tag, str) and tag.strip())
    return names


def merge_tags(names: Sequence[str], into: str) -> list[int]:
    """Merge the tags ``names`` into the tag ``into``; return the links whose tags changed.

    Every link carrying one of ``names`` carries ``into`` instead, in its enrichment's
    tags and its tag rows; the merged tags leave the vocabulary. When no tag is named
    ``into`` yet, the first of ``names`` is renamed to it and the others merged in.
    """
    with database.atomic():
        sources = [_existing(name) for name in names]
        renamed: list[int] = []
        if sources and _named(into) is None:
            renamed = rename_tag(sources[0].name, into)
            sources = sources[1:]
        target = _existing(into)
        merged = [tag for tag in sources if tag.id != target.id]
        if not merged:
            return renamed
        ids = [tag.id for tag in merged]
        carrying: Any = LinkTag.select(LinkTag.link).where(LinkTag.tag.in_(ids)).tuples()
        link_ids = sorted({int(link) for (link,) in carrying})
        if link_ids:
            LinkTag.insert_many(
                [{"link": link, "tag": target.id} for link in link_ids]
            ).on_conflict_ignore().execute()
        Tag.delete().where(Tag.id.in_(ids)).execute()
        _replace_in_enrichments(link_ids, {tag.name for tag in merged}, target.name)
    return sorted(set(link_ids) | set(renamed))


def rename_tag(old: str, new: str) -> list[int]:
    """Rename the tag ``old`` to ``new``; return the links whose tags changed.

    When a tag named ``new`` exists (any case), ``old`` is merged into it.
    """
    new = " ".join(new.split())
    if not new:
        raise InvalidRequest("name", "the new name of a tag must not be blank")
    if len(new) > MAX_NAME_CHARS:
        raise InvalidRequest("name", f"a tag name holds at most {MAX_NAME_CHARS} characters")
    with database.atomic():
        tag = _existing(old)
        same = Tag.get_or_none(fn.LOWER(Tag.name) == new.lower())
        if same is not None and same.id != tag.id:
            return merge_tags([tag.name], same.name)
        Tag.update(name=new, key=None, source="edit").where(Tag.id == tag.id).execute()
        carrying: Any = LinkTag.select(LinkTag.link).where(LinkTag.tag == tag.id).tuples()
        link_ids = [int(link) for (link,) in carrying]
        _replace_in_enrichments(sorted(link_ids), {tag.name}, new)
    return sorted(link_ids)


def _named(name: str) -> Tag | None:
    """Return the tag ``name`` (exactly, else in any case), or None."""
    tag = Tag.get_or_none(Tag.name == name)
    if tag is None:
        tag = Tag.select().where(fn.LOWER(Tag.name) == " ".join(name.split()).lower()).first()
    return tag


def _existing(name: str) -> Tag:
    """Return the tag ``name`` (exactly, else in any case); raise if there is none."""
    tag = _named(name)
    if tag is None:
        raise NotFound(f"no tag named {name!r} (`kbm tags` lists them)")
    return tag


def _replace_in_enrichments(link_ids: Sequence[int], old: set[str], new: str) -> None:
    """Write ``new`` in place of the names ``old`` in the enrichments of ``link_ids``."""
    now = utcnow()
    rows: Any = (
        Enrichment.select(Enrichment.link, Enrichment.tags)
        .where(Enrichment.link.in_(list(link_ids)))
        .tuples()
    )
    for link_id, names in rows:
        tags = [new if tag in old else tag for tag in names or []]
        Enrichment.update(tags=list(dict.fromkeys(tags)), updated_at=now).where(
            Enrichment.link == link_id
        ).execute()
    # The search documents hold the tags: a query finds the links by their new name.
    search.reindex(*link_ids)


def _distinct(names: Iterable[str]) -> list[str]:
    """Return ``names`` stripped, without blanks or repeats (any case), in order."""
    seen: dict[str, str] = {}
    for name in names:
        cleaned = " ".join(name.split())
        if cleaned:
            seen.setdefault(cleaned.lower(), cleaned)
    return list(seen.values())
