"""Full-text search in local mode: an FTS5 table over SQLite, rowid = the link's id.

FTS5 has no per-language stemming: its ``porter`` tokenizer stems English words and
reads every other language word for word (accents folded). The query is written in the
same web search syntax PostgreSQL reads (``words``, ``"a phrase"``, ``-excluded``,
``OR``), translated by :func:`fts5_query`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from peewee import Database

from shared.db import IN_CHUNK, database
from shared.models import Content, Enrichment, Link
from shared.search.base import INDEX_TABLE, Match
from shared.search.rules import INDEXED_FIELDS

_COLUMNS = ", ".join(field.name for field in INDEXED_FIELDS)
_SCHEMA = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {INDEX_TABLE} USING fts5({_COLUMNS},"
    " tokenize = 'porter unicode61 remove_diacritics 2')"
)
_REINDEX = (
    f"INSERT INTO {INDEX_TABLE} (rowid, {_COLUMNS})"
    f" SELECT l.id, {', '.join(field.expression for field in INDEXED_FIELDS)}"
    f" FROM {Link._meta.table_name} l"
    f" LEFT JOIN {Content._meta.table_name} c ON c.link_id = l.id"
    f" LEFT JOIN {Enrichment._meta.table_name} e ON e.link_id = l.id"
    " WHERE {where}"
)
_RANK = "BM25({table}, {weights})".format(
    table=INDEX_TABLE, weights=", ".join(str(field.bm25) for field in INDEXED_FIELDS)
)
#: A quoted phrase (closed or not) or a word, either maybe preceded by ``-``.
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')


def _quoted(text: str) -> str | None:
    """Return ``text`` as an FTS5 string, or None when it holds nothing searchable."""
    if not any(character.isalnum() for character in text):
        return None
    return '"' + text.replace('"', '""') + '"'


def fts5_query(query: str) -> tuple[str, str]:
    """Return a web search query as FTS5 queries: (what to match, what to exclude).

    Words and phrases must all be present, ``OR`` between two offers either, ``-word``
    excludes; each part is quoted, so nothing the user types is FTS5 syntax. Either
    part may be empty.
    """
    terms: list[str] = []
    excluded: list[str] = []
    after_or = False
    for match in _TOKEN.finditer(query):
        negated = bool(match.group(1) or match.group(3))
        text = match.group(2) if match.group(2) is not None else match.group(4)
        if match.group(4) is not None and text.upper() == "OR" and not negated:
            after_or = bool(terms)
            continue
        term = _quoted(text)
        if term is None:
            continue
        if negated:
            excluded.append(term)
        elif after_or:
            terms[-1] = f"{terms[-1]} OR {term}"
            after_or = False
        else:
            terms.append(term)
    included = " AND ".join(f"({term})" if " OR " in term else term for term in terms)
    return included, " OR ".join(excluded)


class SqliteSearch:
    """An FTS5 table, one row per link."""

    #: Local mode indexes a link as soon as its article is stored (it has no reconciler).
    indexes_at_parse = True

    def install(self, db: Database) -> None:
        """Create the FTS5 table; index every stored link."""
        db.execute_sql(_SCHEMA)
        db.execute_sql(f"DELETE FROM {INDEX_TABLE}")
        db.execute_sql(_REINDEX.format(where="1"))

    def reindex(self, link_ids: Sequence[int]) -> None:
        """Replace the rows of ``link_ids``."""
        with database.atomic():
            for start in range(0, len(link_ids), IN_CHUNK):
                chunk = list(link_ids[start : start + IN_CHUNK])
                marks = ", ".join("?" for _ in chunk)
                database.execute_sql(f"DELETE FROM {INDEX_TABLE} WHERE rowid IN ({marks})", chunk)
                database.execute_sql(_REINDEX.format(where=f"l.id IN ({marks})"), chunk)

    def reindex_stale(self, limit: int) -> int:
        """Nothing lags here: every article is indexed as it is stored."""
        return 0

    def match(self, query: str) -> Match:
        """Match the words and phrases of ``query``, best first (bm25); leave out excluded."""
        included, excluded = fts5_query(query)
        if not included and not excluded:
            return Match(condition="0")
        exclusion = (
            f"l.id NOT IN (SELECT rowid FROM {INDEX_TABLE} WHERE {INDEX_TABLE} MATCH ?)"
            if excluded
            else ""
        )
        if not included:
            return Match(condition=exclusion, condition_params=(excluded,))
        join = (
            f"JOIN (SELECT rowid AS link_id, {_RANK} AS rank FROM {INDEX_TABLE}"
            f" WHERE {INDEX_TABLE} MATCH ?) hit ON hit.link_id = l.id"
        )
        return Match(
            join=join,
            join_params=(included,),
            condition=exclusion,
            condition_params=(excluded,) if excluded else (),
            order="hit.rank",
        )

    def user_tag_condition(self) -> str:
        """Return whether the user's tags (a JSON list) hold the parameter, in any case."""
        return "EXISTS (SELECT 1 FROM JSON_EACH(l.user_tags) t WHERE LOWER(t.value) = LOWER(?))"
