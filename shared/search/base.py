"""What a search backend provides: its index's schema, its upkeep and its matching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from peewee import Database

#: The index's table (PostgreSQL: a tsvector per link; SQLite: an FTS5 table).
INDEX_TABLE = "link_search"


@dataclass(frozen=True)
class Match:
    """How a full-text query narrows and orders the links of a listing.

    ``join`` is joined to ``l`` (the link), ``condition`` added to the filters; ``order``
    sorts best first. The parameters go with their clause (``?`` placeholders).
    """

    join: str = ""
    join_params: tuple[Any, ...] = ()
    condition: str = ""
    condition_params: tuple[Any, ...] = ()
    order: str = ""


class SearchBackend(Protocol):
    """The full-text index of one database kind."""

    #: Whether a link is indexed as soon as its article is stored (else by its
    #: enrichment or :meth:`reindex_stale`).
    indexes_at_parse: bool

    def install(self, db: Database) -> None:
        """Create the index (if missing) and index every link already stored."""

    def reindex(self, link_ids: Sequence[int]) -> None:
        """Rebuild the search documents of these links from what is stored now."""

    def reindex_stale(self, limit: int) -> int:
        """Index up to ``limit`` links whose article is newer than their document."""

    def match(self, query: str) -> Match:
        """Return how the query ``query`` (web search syntax) narrows a listing."""

    def user_tag_condition(self) -> str:
        """Return a condition over ``l`` true when the user's tags hold ``?`` (any case)."""
