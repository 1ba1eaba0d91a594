"""Full-text search on PostgreSQL: a tsvector per link, in the link's own language.

Each link's document is built with the text search configuration of its language
(:func:`shared.search.rules.config_for`), so a German article is stemmed as German. A
query is read once per configuration in use (``websearch_to_tsquery``) and each reading
is matched against the documents of that configuration only: one GIN index scan each.
"""

from __future__ import annotations

from collections.abc import Sequence

from peewee import Database

from shared.db import database
from shared.models import Content, Enrichment, Link
from shared.search.base import INDEX_TABLE, Match
from shared.search.rules import INDEXED_FIELDS, config_sql

_DOCUMENT = " || ".join(
    f"SETWEIGHT(TO_TSVECTOR(cfg.config::regconfig, {field.expression}), '{field.weight}')"
    for field in INDEXED_FIELDS
)
#: Rebuilds the documents of the links the condition ``{where}`` selects.
_REINDEX = (
    f"INSERT INTO {INDEX_TABLE} (link_id, config, document, updated_at)"
    f" SELECT l.id, cfg.config, {_DOCUMENT}, NOW() AT TIME ZONE 'UTC'"
    f" FROM {Link._meta.table_name} l"
    f" LEFT JOIN {Content._meta.table_name} c ON c.link_id = l.id"
    f" LEFT JOIN {Enrichment._meta.table_name} e ON e.link_id = l.id"
    f" CROSS JOIN LATERAL (SELECT {config_sql()} AS config) cfg"
    " WHERE {where}"
    " ON CONFLICT (link_id) DO UPDATE"
    " SET config = EXCLUDED.config, document = EXCLUDED.document,"
    " updated_at = EXCLUDED.updated_at"
)
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {INDEX_TABLE} ("
    f" link_id INTEGER PRIMARY KEY REFERENCES {Link._meta.table_name} (id) ON DELETE CASCADE,"
    " config TEXT NOT NULL, document TSVECTOR NOT NULL, updated_at TIMESTAMP NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_document ON {INDEX_TABLE} USING GIN (document)",
    f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_config ON {INDEX_TABLE} (config)",
)
#: The configurations in use, one index probe each (a loose index scan): a DISTINCT
#: would read every row.
_CONFIGS_IN_USE = (
    f"WITH RECURSIVE used (config) AS (SELECT MIN(config) FROM {INDEX_TABLE}"
    f" UNION ALL SELECT (SELECT MIN(s.config) FROM {INDEX_TABLE} s WHERE s.config > used.config)"
    " FROM used WHERE used.config IS NOT NULL)"
    " SELECT config FROM used WHERE config IS NOT NULL"
)


_STALE = (
    f"SELECT c.link_id FROM {Content._meta.table_name} c"
    f" LEFT JOIN {INDEX_TABLE} s ON s.link_id = c.link_id"
    " WHERE s.link_id IS NULL OR s.updated_at < c.updated_at ORDER BY c.link_id LIMIT %s"
)


class PostgresSearch:
    """A tsvector column with a GIN index, one row per link."""

    indexes_at_parse = False

    def install(self, db: Database) -> None:
        """Create the index table and its GIN index; index every stored link."""
        for statement in _SCHEMA:
            db.execute_sql(statement)
        db.execute_sql(_REINDEX.format(where="TRUE"))

    def reindex(self, link_ids: Sequence[int]) -> None:
        """Rebuild the documents of ``link_ids`` in one statement."""
        if link_ids:
            database.execute_sql(_REINDEX.format(where="l.id = ANY(%s)"), (list(link_ids),))

    def reindex_stale(self, limit: int) -> int:
        """Index up to ``limit`` links whose article is newer than their document."""
        ids = [int(row[0]) for row in database.execute_sql(_STALE, (limit,)).fetchall()]
        self.reindex(ids)
        return len(ids)

    def match(self, query: str) -> Match:
        """Match each configuration's reading of ``query`` against its own documents."""
        configs = [row[0] for row in database.execute_sql(_CONFIGS_IN_USE).fetchall()]
        if not configs:
            return Match(condition="FALSE")
        # One branch per configuration, whose reading of the query is a constant (the
        # planner folds it): its documents are found through the GIN index.
        reading = "WEBSEARCH_TO_TSQUERY(?::regconfig, ?)"
        readings = " UNION ALL ".join(
            f"SELECT s.link_id, TS_RANK(s.document, {reading}) AS rank FROM {INDEX_TABLE} s"
            f" WHERE s.config = ? AND s.document @@ {reading}"
            for _ in configs
        )
        params: list[str] = []
        for config in configs:
            params += [config, query, config, config, query]
        join = f"JOIN ({readings}) hit ON hit.link_id = l.id"
        return Match(join=join, join_params=tuple(params), order="hit.rank DESC")

    def user_tag_condition(self) -> str:
        """Return whether the user's tags (a JSON list) hold the parameter, in any case."""
        return (
            "EXISTS (SELECT 1 FROM JSON_ARRAY_ELEMENTS_TEXT(l.user_tags::json) AS t(name)"
            " WHERE LOWER(t.name) = LOWER(?))"
        )
