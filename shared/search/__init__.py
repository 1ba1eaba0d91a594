"""Full-text search of the knowledge base: one index per database kind, one set of rules.

- ``rules``: what a link's search document holds (title, tags, summary, the start of
  the article) and which language configuration reads it;
- ``postgres`` (a tsvector per link, GIN index, stemmed in the link's language) and
  ``sqlite`` (FTS5, local mode): the index, its upkeep and its matching;
- ``listing``: ``GET /api/links``, the links filtered by tag, category, status and a
  query, one page at a time.

The index is kept up to date by :func:`reindex`, which the store calls whenever a link's
article or enrichment is saved; migration 11 creates it and indexes existing links.
"""

from __future__ import annotations

from collections.abc import Sequence

from peewee import Database, PostgresqlDatabase

from shared.db import database
from shared.search.base import SearchBackend

__all__ = ["SearchBackend", "current", "install", "parsed", "reindex", "reindex_stale"]

_chosen: tuple[object, SearchBackend] | None = None


def _backend_of(db: object) -> SearchBackend:
    if isinstance(db, PostgresqlDatabase):
        from shared.search.postgres import PostgresSearch

        return PostgresSearch()
    from shared.search.sqlite import SqliteSearch

    return SqliteSearch()


def current() -> SearchBackend:
    """Return the search backend of the bound database (chosen once per binding)."""
    global _chosen
    bound = database.obj
    if _chosen is None or _chosen[0] is not bound:
        _chosen = (bound, _backend_of(bound))
    return _chosen[1]


def install(db: Database) -> None:
    """Create the search index of ``db`` and index every stored link (migration 11)."""
    _backend_of(db).install(db)


def parsed(link_id: int) -> None:
    """Index a link whose article was just stored, where the backend does so at once.

    PostgreSQL leaves it to the link's enrichment (its next stage, which rebuilds the
    document anyway) or, for a link that is not enriched, to the reconciler's next pass
    (:func:`reindex_stale`): building a document costs the parse stage a fifth of its
    throughput. SQLite (local mode, one process, no reconciler) indexes it at once.
    """
    backend = current()
    if backend.indexes_at_parse:
        backend.reindex([link_id])


def reindex_stale(limit: int = 1000) -> int:
    """Index the links whose article is newer than their document; return how many."""
    return current().reindex_stale(limit)


def reindex(*link_ids: int) -> None:
    """Rebuild the search documents of these links from their stored article and enrichment."""
    ids: Sequence[int] = [int(link_id) for link_id in link_ids]
    current().reindex(ids)
