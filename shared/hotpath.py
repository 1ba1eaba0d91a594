"""Single-statement forms of the writes every item makes, for PostgreSQL.

Each item runs the same handful of transitions at every stage: start, store the result,
finish. Written with peewee they are 6 to 8 statements each (BEGIN, reads, updates,
COMMIT), and peewee's SQL generation costs more CPU than PostgreSQL's work; measured on
loopback, about 13 ms of a worker thread per parsed page. Here each is one statement
of data-modifying CTEs (its own transaction, row locks taken in the order the general
code takes them: item, stage run, task). The start, the finish, the urgent-work
check and the read of an item's link are prepared statements on each connection
(:class:`Prepared`): planning them took longer than running them. (A pooler in
transaction mode, such as PgBouncer's, does not keep prepared statements; connect the
workers to PostgreSQL or to a session-mode pool.)

Every function handles the common case only and tells the caller when it did not:
the general code in ``shared.lifecycle`` and ``shared.store`` then decides, as it
always has (a cancelled task, a duplicate or stale delivery, a dead worker, the poison
guard). ``ENABLED`` switches this module off, so that tests can run both forms against
the same scenarios. SQLite (local mode) always uses the general code.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from peewee import Model

from shared.db import database, is_postgres
from shared.models import TERMINAL, Content, Enrichment, Link

#: Off in tests that check the general code gives the same outcomes.
ENABLED = True

_NO_LIMIT = 2**31 - 1
#: The terminal statuses as an SQL list, from the models' one definition.
_TERMINAL = "(" + ", ".join(f"'{status.value}'" for status in TERMINAL) + ")"


def usable() -> bool:
    """Tell whether the single-statement forms apply to the bound database."""
    return ENABLED and is_postgres()


def _one(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    cursor = database.execute_sql(sql, params)
    return cursor.fetchone()


_M = TypeVar("_M", bound=Model)


def _as_model(model: type[_M], fields: Sequence[str], row: tuple[Any, ...] | None) -> _M | None:
    """Return a row read by hand as the model peewee would have read (those fields only)."""
    return None if row is None else model(**dict(zip(fields, row, strict=True)))


class Prepared:
    """A statement PostgreSQL plans once per connection (``PREPARE``), then ``EXECUTE``s.

    Planning these CTEs took longer than running them (0.4 to 0.7 ms against 0.2 to
    0.3 ms). ``types`` names each ``%(name)s`` parameter's type, in order.
    """

    def __init__(self, name: str, sql: str, types: dict[str, str]) -> None:
        self.name = name
        self._names = list(types)
        positional = sql
        for position, key in enumerate(self._names, start=1):
            positional = positional.replace(f"%({key})s", f"${position}")
        if "%(" in positional:
            raise ValueError(f"{name}: a parameter has no type")
        self._prepare = f"PREPARE {name} ({', '.join(types.values())}) AS {positional}"
        self._execute = f"EXECUTE {name} ({', '.join(f'%({key})s' for key in self._names)})"
        self._prepared_on: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()

    def one(self, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run the statement on this thread's connection; return its first row."""
        connection = database.connection()
        if connection not in self._prepared_on:
            database.execute_sql(self._prepare)
            self._prepared_on[connection] = True
        return _one(self._execute, params)


_START = f"""
WITH item AS (
    SELECT i.id FROM task_item i JOIN task t ON t.id = i.task_id
    WHERE i.id = %(item)s AND i.status NOT IN {_TERMINAL} AND t.status <> 'cancelled'
    FOR UPDATE OF i
), run AS (
    UPDATE stage_run r
    SET status = 'running', attempts = r.attempts + 1, started_at = %(now)s,
        finished_at = NULL, worker = %(worker)s
    FROM item
    WHERE r.item_id = item.id AND r.stage = %(stage)s
      AND r.status IN ('pending', 'queued') AND r.attempts < %(max_deliveries)s
    RETURNING r.attempts
), moved AS (
    UPDATE task_item i
    SET status = 'running', stage = %(stage)s, attempts = i.attempts + 1,
        started_at = COALESCE(i.started_at, %(now)s), updated_at = %(now)s
    WHERE i.id = %(item)s AND EXISTS (SELECT 1 FROM run)
    RETURNING i.task_id
), task_started AS (
    UPDATE task t
    SET status = 'running', started_at = COALESCE(t.started_at, %(now)s), updated_at = %(now)s
    WHERE t.id IN (SELECT task_id FROM moved) AND t.status IN ('pending', 'queued')
)
SELECT attempts FROM run
"""

_PREPARED_START = Prepared(
    "kbm_start_stage",
    _START,
    {
        "item": "integer",
        "stage": "text",
        "now": "timestamp",
        "worker": "text",
        "max_deliveries": "integer",
    },
)


def start_stage(
    item_id: int, stage: str, *, now: datetime, worker: str | None, max_deliveries: int | None
) -> int | None:
    """Start a stage that waits to run; return its attempt, or None to decide in full.

    Applies only when the item is active, its task is not cancelled, and the stage's
    run is pending or queued with deliveries to spare.
    """
    row = _PREPARED_START.one(
        {
            "item": item_id,
            "stage": stage,
            "now": now,
            "worker": worker,
            "max_deliveries": _NO_LIMIT if max_deliveries is None else max_deliveries,
        },
    )
    return None if row is None else int(row[0])


# The stage after %(stage)s in the task's stages (a JSON array), NULL at the end.
_FOLLOWING = """
(SELECT e.value FROM jsonb_array_elements_text(t.stages::jsonb) WITH ORDINALITY AS e(value, n)
 WHERE e.n = (SELECT f.n FROM jsonb_array_elements_text(t.stages::jsonb)
              WITH ORDINALITY AS f(value, n) WHERE f.value = %(stage)s LIMIT 1) + 1)
"""

_DONE_AFTER = "t.completed_items + t.failed_items + t.cancelled_items + 1 >= t.total_items"

_FINISH = f"""
WITH item AS (
    SELECT i.id, i.task_id, t.status AS task_status, {_FOLLOWING} AS following
    FROM task_item i JOIN task t ON t.id = i.task_id
    WHERE i.id = %(item)s
    FOR UPDATE OF i
), run AS (
    UPDATE stage_run r
    SET status = 'completed', error = NULL, finished_at = %(now)s,
        duration_ms = floor(extract(epoch FROM (%(now)s - r.started_at)) * 1000)::integer
    WHERE r.item_id = %(item)s AND r.stage = %(stage)s AND EXISTS (SELECT 1 FROM item)
    RETURNING r.id
), moved AS (
    UPDATE task_item i
    SET status = CASE WHEN item.task_status = 'cancelled' THEN 'cancelled'
                      WHEN item.following IS NULL THEN 'completed' ELSE 'pending' END,
        stage = CASE WHEN item.task_status <> 'cancelled' AND item.following IS NOT NULL
                     THEN item.following ELSE i.stage END,
        finished_at = CASE WHEN item.task_status = 'cancelled' OR item.following IS NULL
                           THEN %(now)s ELSE i.finished_at END,
        error = NULL, updated_at = %(now)s
    FROM item
    WHERE i.id = item.id AND i.status NOT IN {_TERMINAL} AND EXISTS (SELECT 1 FROM run)
    RETURNING i.task_id, i.status, i.stage
), counted AS (
    UPDATE task t
    SET completed_items = t.completed_items + (moved.status = 'completed')::integer,
        cancelled_items = t.cancelled_items + (moved.status = 'cancelled')::integer,
        status = CASE WHEN t.finished_at IS NULL AND {_DONE_AFTER}
                      THEN CASE WHEN t.status = 'cancelled' THEN 'cancelled'
                                WHEN t.failed_items > 0 THEN 'failed' ELSE 'completed' END
                      ELSE t.status END,
        finished_at = CASE WHEN t.finished_at IS NULL AND {_DONE_AFTER}
                           THEN %(now)s ELSE t.finished_at END,
        updated_at = %(now)s
    FROM moved
    WHERE t.id = moved.task_id AND moved.status <> 'pending'
)
SELECT status, stage FROM moved
"""

_PREPARED_FINISH = Prepared(
    "kbm_finish_stage", _FINISH, {"item": "integer", "stage": "text", "now": "timestamp"}
)


def finish_stage(item_id: int, stage: str, *, now: datetime) -> tuple[bool, str | None]:
    """Record a stage's success in one statement.

    Return ``(True, next stage or None)`` when the item moved on (to its next stage, or
    to completed or cancelled with its task's counters and roll-up), or ``(False, None)``
    when nothing moved and the general code must decide.
    """
    row = _PREPARED_FINISH.one({"item": item_id, "stage": stage, "now": now})
    if row is None:
        return False, None
    status, following = row
    return True, (str(following) if status == "pending" else None)


_CONTENT_COLUMNS = (
    "final_url",
    "title",
    "text",
    "authors",
    "published_at",
    "language",
    "top_image",
    "word_count",
    "content_hash",
    "blocks",
    "canonical_url",
)

_SAVE_CONTENT = f"""
WITH first AS (
    SELECT link_id FROM content
    WHERE content_hash = %(content_hash)s AND link_id <> %(link)s
    ORDER BY link_id LIMIT 1
), saved AS (
    INSERT INTO content (link_id, {", ".join(_CONTENT_COLUMNS)},
                         duplicate_of_id, created_at, updated_at)
    VALUES (%(link)s, {", ".join(f"%({name})s" for name in _CONTENT_COLUMNS)},
            (SELECT link_id FROM first), %(now)s, %(now)s)
    ON CONFLICT (link_id) DO UPDATE SET
        {", ".join(f"{name} = EXCLUDED.{name}" for name in _CONTENT_COLUMNS)},
        duplicate_of_id = EXCLUDED.duplicate_of_id, updated_at = EXCLUDED.updated_at
    RETURNING duplicate_of_id
), marked AS (
    UPDATE link SET status = 'parsed', updated_at = %(now)s WHERE id = %(link)s
)
SELECT duplicate_of_id FROM saved
"""


def save_content(link_id: int, *, now: datetime, values: dict[str, Any]) -> int | None:
    """Store (or replace) a link's article and mark the link parsed, in one statement.

    ``values`` holds every content column; return the first link with the same content
    hash, if any.
    """
    params: dict[str, Any] = {"link": link_id, "now": now}
    for name in _CONTENT_COLUMNS:
        params[name] = Content._meta.fields[name].db_value(values[name])
    row = _one(_SAVE_CONTENT, params)
    return None if row is None or row[0] is None else int(row[0])


# Tags are written in name order (concurrent savers lock them in one order). DO UPDATE,
# not DO NOTHING: it returns the id of a tag another saver has just committed, which
# this statement's snapshot could not read.
_SAVE_ENRICHMENT = """
WITH saved AS (
    INSERT INTO enrichment (link_id, tags, {columns}, created_at, updated_at)
    VALUES (%(link)s, %(tags)s, {values}, %(now)s, %(now)s)
    ON CONFLICT (link_id) DO UPDATE SET
        tags = EXCLUDED.tags, {updates}updated_at = EXCLUDED.updated_at
), tags AS (
    INSERT INTO tag (name)
    SELECT name FROM unnest(%(names)s::text[]) AS names(name) ORDER BY name
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
    RETURNING id
), unlinked AS (
    DELETE FROM link_tag
    WHERE link_id = %(link)s AND tag_id NOT IN (SELECT id FROM tags)
), linked AS (
    INSERT INTO link_tag (link_id, tag_id) SELECT %(link)s, id FROM tags
    ON CONFLICT (link_id, tag_id) DO NOTHING
)
UPDATE link SET status = 'enriched', updated_at = %(now)s WHERE id = %(link)s
"""

#: The enrichment's own columns (``tags`` is written from the tag names).
_ENRICHMENT_COLUMNS = tuple(
    name
    for name in Enrichment._meta.sorted_field_names
    if name not in ("id", "link", "tags", "created_at", "updated_at")
)


@functools.cache
def _save_enrichment_sql(given: frozenset[str]) -> str:
    # As the general code's upsert: a new row takes the columns' defaults, an existing
    # one keeps the columns not given.
    return _SAVE_ENRICHMENT.format(
        columns=", ".join(_ENRICHMENT_COLUMNS),
        values=", ".join(f"%({name})s" for name in _ENRICHMENT_COLUMNS),
        updates="".join(f"{name} = EXCLUDED.{name}, " for name in sorted(given)),
    )


def save_enrichment(
    link_id: int, *, now: datetime, names: Sequence[str], values: dict[str, Any]
) -> None:
    """Store (or replace) a link's enrichment and its tags, in one statement.

    ``values`` are enrichment columns (not ``tags``: ``names`` are the tags).
    """
    unknown = set(values).difference(_ENRICHMENT_COLUMNS)
    if unknown:
        raise ValueError(f"not enrichment columns: {', '.join(sorted(unknown))}")
    params: dict[str, Any] = {"link": link_id, "now": now}
    for name in _ENRICHMENT_COLUMNS:
        field = Enrichment._meta.fields[name]
        default = field.default() if callable(field.default) else field.default
        params[name] = field.db_value(values.get(name, default))
    params["tags"] = Enrichment.tags.db_value(list(names))
    params["names"] = sorted(names)
    database.execute_sql(_save_enrichment_sql(frozenset(values)), params)


_URGENT_WAITING = """
SELECT EXISTS (
    SELECT 1 FROM task t
    WHERE t.finished_at IS NULL AND t.feed_rank = 0 AND t.status <> 'cancelled'
      AND (t.run_at IS NULL OR t.run_at <= %(now)s)
      AND EXISTS (SELECT 1 FROM task_item i
                  WHERE i.task_id = t.id AND i.stage = %(stage)s AND i.status = 'pending')
)
"""

_PREPARED_URGENT_WAITING = Prepared(
    "kbm_urgent_waiting", _URGENT_WAITING, {"stage": "text", "now": "timestamp"}
)


def urgent_waiting(stage: str, *, now: datetime) -> bool:
    """Tell whether an item of a rank-0 task waits to be fed at ``stage``."""
    row = _PREPARED_URGENT_WAITING.one({"stage": stage, "now": now})
    return bool(row and row[0])


_LINK_COLUMNS = ("id", "url", "normalized_url", "status", "created_at", "updated_at")
_LINK_OF_ITEM = Prepared(
    "kbm_link_of_item",
    f"SELECT {', '.join(f'l.{name}' for name in _LINK_COLUMNS)}"
    " FROM task_item i JOIN link l ON l.id = i.link_id WHERE i.id = %(item)s",
    {"item": "integer"},
)


def link_of_item(item_id: int) -> Link | None:
    """Return the link a task item works on, or None if the item does not exist."""
    return _as_model(Link, _LINK_COLUMNS, _LINK_OF_ITEM.one({"item": item_id}))


_ARTICLE_COLUMNS = ("link", "title", "text", "language")
_ARTICLE_OF = Prepared(
    "kbm_article_of",
    "SELECT link_id, title, text, language FROM content WHERE link_id = %(link)s",
    {"link": "integer"},
)


def article_of(link_id: int) -> Content | None:
    """Return a link's article title, text and language only, or None if not parsed."""
    return _as_model(Content, _ARTICLE_COLUMNS, _ARTICLE_OF.one({"link": link_id}))
