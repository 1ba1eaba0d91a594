"""The item statements of PostgreSQL: each step one statement of data-modifying CTEs.

Every item runs the same handful of steps at every stage. Written with peewee they are
6 to 8 statements each (BEGIN, reads, updates, COMMIT), and peewee's SQL generation
costs more CPU than PostgreSQL's work; measured on loopback, about 13 ms of a worker
thread per parsed page. Here a step is one statement (its own transaction), prepared on
each connection (:class:`~shared.items.prepared.Prepared`): planning took longer than
running. Row locks are taken in the order every writer takes them: item, stage run,
task. A write carries the condition under which the rules decided it (the item's
status, the run's status and attempts, whether the task is cancelled) and writes
nothing when that no longer holds: the machine then reads again.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from peewee import Model

from shared.db import database
from shared.items.base import ItemStates
from shared.items.prepared import Prepared, one
from shared.items.rules import COUNTER, ItemState, Stock, TaskCounts, sql_list
from shared.models import TERMINAL, Content, Enrichment, Link, Status, Task
from shared.store import ARTICLE_FIELDS, ENRICHMENT_COLUMNS

_TERMINAL = sql_list(TERMINAL)
_RUNNING = f"'{Status.RUNNING.value}'"
_CANCELLED = f"'{Status.CANCELLED.value}'"
_COUNTS = (
    "t.id, t.status, t.total_items, t.completed_items, t.failed_items, t.cancelled_items,"
    " t.finished_at IS NOT NULL"
)

_M = TypeVar("_M", bound=Model)


def _as_model(model: type[_M], fields: Sequence[str], row: tuple[Any, ...] | None) -> _M | None:
    """Return a row read by hand as the model peewee would have read (those fields only)."""
    if row is None:
        return None
    columns = model._meta.fields
    return model(
        **{name: columns[name].python_value(value) for name, value in zip(fields, row, strict=True)}
    )


def _counts(row: Sequence[Any]) -> TaskCounts | None:
    return None if row[0] is None else TaskCounts(*row)


_READ = Prepared(
    "kbm_read_item",
    """
SELECT i.task_id, i.link_id, i.status, t.status, t.stages,
       r.status, r.attempts, r.worker, r.started_at
FROM task_item i JOIN task t ON t.id = i.task_id
LEFT JOIN stage_run r ON r.item_id = i.id AND r.stage = %(stage)s
WHERE i.id = %(item)s
""",
    {"item": "integer", "stage": "text"},
)

# The item is locked first; the run is started only if it is as read; then the item
# and, at its first start, the task.
_BEGIN = """
WITH item AS (
    SELECT id FROM task_item WHERE id = %(item)s AND status = %(seen)s FOR UPDATE
), run AS ({run}
), moved AS (
    UPDATE task_item i
    SET status = {running}, stage = %(stage)s, attempts = i.attempts + 1,
        started_at = COALESCE(i.started_at, %(now)s), updated_at = %(now)s
    WHERE i.id = %(item)s AND EXISTS (SELECT 1 FROM run)
    RETURNING i.task_id
), task_started AS (
    UPDATE task t
    SET status = {running}, started_at = COALESCE(t.started_at, %(now)s), updated_at = %(now)s
    WHERE t.id IN (SELECT task_id FROM moved) AND t.status IN {startable}
)
SELECT attempts FROM run
"""
_STARTABLE = sql_list((Status.PENDING, Status.QUEUED))
_BEGIN_TYPES = {"item": "integer", "seen": "text", "stage": "text", "now": "timestamp"}
_BEGIN_AGAIN = Prepared(
    "kbm_begin_run",
    _BEGIN.format(
        running=_RUNNING,
        startable=_STARTABLE,
        run=f"""
    UPDATE stage_run r
    SET status = {_RUNNING}, attempts = r.attempts + 1, started_at = %(now)s,
        finished_at = NULL, worker = %(worker)s
    FROM item
    WHERE r.item_id = item.id AND r.stage = %(stage)s
      AND r.status = %(run_status)s AND r.attempts = %(run_attempts)s
    RETURNING r.attempts""",
    ),
    {**_BEGIN_TYPES, "worker": "text", "run_status": "text", "run_attempts": "integer"},
)
_BEGIN_FIRST = Prepared(
    "kbm_begin_first_run",
    _BEGIN.format(
        running=_RUNNING,
        startable=_STARTABLE,
        run=f"""
    INSERT INTO stage_run (item_id, stage, status, attempts, started_at, worker)
    SELECT id, %(stage)s, {_RUNNING}, 1, %(now)s, %(worker)s FROM item
    ON CONFLICT (item_id, stage) DO NOTHING
    RETURNING attempts""",
    ),
    {**_BEGIN_TYPES, "worker": "text"},
)


def _urgent_sql(stage: str) -> str:
    """Return whether an item of a rank-0 task waits to be fed at ``stage`` (a parameter)."""
    return f"""EXISTS (
    SELECT 1 FROM task t
    WHERE t.finished_at IS NULL AND t.feed_rank = 0 AND t.status <> {_CANCELLED}
      AND (t.run_at IS NULL OR t.run_at <= %(now)s)
      AND EXISTS (SELECT 1 FROM task_item i WHERE i.task_id = t.id AND i.stage = {stage}
                  AND i.status = '{Status.PENDING.value}')
)"""


def _stock_sql(stage: str) -> str:
    """Return the items queued at ``stage`` (a parameter) and whether an urgent one waits.

    An item waiting for a retry is ``queued`` too, with its error, but its message is
    delayed, not in the queue: it is not counted.
    """
    return (
        f"(SELECT count(*) FROM task_item q WHERE q.stage = {stage}"
        f" AND q.status = '{Status.QUEUED.value}' AND q.error IS NULL), {_urgent_sql(stage)}"
    )


_URGENT_WAITING = Prepared(
    "kbm_urgent_waiting",
    f"SELECT {_urgent_sql('%(stage)s')}",
    {"stage": "text", "now": "timestamp"},
)


def _counted(status: Status) -> str:
    """Return the CTE that counts an item's end on its task and returns the task's counts."""
    counter = COUNTER[status]
    return f"""
), counted AS (
    UPDATE task t SET {counter} = t.{counter} + 1, updated_at = %(now)s
    FROM moved WHERE t.id = moved.task_id
    RETURNING {_COUNTS}"""


def _end_stage_sql(status: Status) -> str:
    # The task's row is locked so that a cancel (which updates it) and a finish see one
    # state: a finish that counts the item on its task takes it for update, one that
    # hands the item on shares it, so that hand-offs of one task never wait for each
    # other (the task's feeders and its finishers before them queued on this lock).
    terminal = status in TERMINAL
    return f"""
WITH item AS (
    SELECT id FROM task_item WHERE id = %(item)s FOR UPDATE
), task_now AS (
    SELECT t.id FROM task t, item
    WHERE t.id = %(task)s AND (t.status = {_CANCELLED}) = %(cancelled)s
    {"FOR UPDATE OF t" if terminal else "FOR SHARE OF t"}
), run AS (
    UPDATE stage_run r
    SET status = '{Status.COMPLETED.value}', error = NULL, finished_at = %(now)s,
        duration_ms = floor(extract(epoch FROM (%(now)s - r.started_at)) * 1000)::integer
    FROM task_now WHERE r.item_id = %(item)s AND r.stage = %(stage)s
    RETURNING r.id
), moved AS (
    UPDATE task_item i
    SET status = '{status.value}', stage = %(following)s, error = NULL, updated_at = %(now)s
        {", finished_at = %(now)s" if terminal else ""}
    FROM task_now WHERE i.id = %(item)s AND i.status NOT IN {_TERMINAL}
    RETURNING i.task_id{_counted(status) if terminal else ""}
)
SELECT EXISTS (SELECT 1 FROM task_now), EXISTS (SELECT 1 FROM moved),
       {"c.*" if terminal else "NULL, NULL, NULL, NULL, NULL, NULL, NULL"},
       {_stock_sql("%(stage)s")}, {_stock_sql("%(following)s")}
FROM (SELECT 1) AS one{" LEFT JOIN counted c ON true" if terminal else ""}
"""


_END_STAGE = {
    status: Prepared(
        f"kbm_end_stage_{status.value}",
        _end_stage_sql(status),
        {
            "item": "integer",
            "task": "integer",
            "cancelled": "boolean",
            "stage": "text",
            "following": "text",
            "now": "timestamp",
        },
    )
    for status in (Status.PENDING, Status.COMPLETED, Status.CANCELLED)
}

_END_ITEM = {
    status: Prepared(
        f"kbm_end_item_{status.value}",
        f"""
WITH moved AS (
    UPDATE task_item i
    SET status = '{status.value}', finished_at = %(now)s, updated_at = %(now)s,
        error = CASE WHEN %(clear)s THEN NULL ELSE COALESCE(%(error)s, i.error) END
    WHERE i.id = %(item)s AND i.status NOT IN {_TERMINAL}
    RETURNING i.task_id{_counted(status)}
)
SELECT * FROM counted
""",
        {"item": "integer", "now": "timestamp", "clear": "boolean", "error": "text"},
    )
    for status in TERMINAL
}

_LINK_COLUMNS = tuple(Link._meta.sorted_field_names)
_LINK_OF_ITEM = Prepared(
    "kbm_link_of_item",
    f"SELECT {', '.join(f'l.{Link._meta.fields[name].column_name}' for name in _LINK_COLUMNS)}"
    " FROM task_item i JOIN link l ON l.id = i.link_id WHERE i.id = %(item)s",
    {"item": "integer"},
)

_ARTICLE_OF = Prepared(
    "kbm_article_of",
    f"SELECT {', '.join(Content._meta.fields[name].column_name for name in ARTICLE_FIELDS)}"
    " FROM content WHERE link_id = %(link)s",
    {"link": "integer"},
)

#: The article's own columns, from the model (the link, its duplicate and times apart).
_CONTENT_COLUMNS = tuple(
    name
    for name in Content._meta.sorted_field_names
    if name not in ("id", "link", "duplicate_of", "created_at", "updated_at")
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

# Tags that exist are read, not written: writing them would lock each row until the
# statement ends, and every article's saver would wait for the others'. New tags are
# written in name order (concurrent savers lock them in one order); DO UPDATE, not DO
# NOTHING: it returns the id of a tag another saver has just committed, which this
# statement's snapshot could not read.
_SAVE_ENRICHMENT = """
WITH saved AS (
    INSERT INTO enrichment (link_id, tags, {columns}, created_at, updated_at)
    VALUES (%(link)s, %(tags)s, {values}, %(now)s, %(now)s)
    ON CONFLICT (link_id) DO UPDATE SET
        tags = EXCLUDED.tags, {updates}updated_at = EXCLUDED.updated_at
), known AS (
    SELECT id, name FROM tag WHERE name = ANY(%(names)s::text[])
), added AS (
    INSERT INTO tag (name)
    SELECT name FROM unnest(%(names)s::text[]) AS names(name)
    WHERE name NOT IN (SELECT name FROM known) ORDER BY name
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
    RETURNING id
), tags AS (
    SELECT id FROM known UNION ALL SELECT id FROM added
), unlinked AS (
    DELETE FROM link_tag
    WHERE link_id = %(link)s AND tag_id NOT IN (SELECT id FROM tags)
), linked AS (
    INSERT INTO link_tag (link_id, tag_id) SELECT %(link)s, id FROM tags
    ON CONFLICT (link_id, tag_id) DO NOTHING
)
UPDATE link SET status = 'enriched', updated_at = %(now)s WHERE id = %(link)s
"""


@functools.cache
def _save_enrichment_sql(given: frozenset[str]) -> str:
    # As an upsert: a new row takes the columns' defaults, an existing one keeps the
    # columns not given.
    return _SAVE_ENRICHMENT.format(
        columns=", ".join(ENRICHMENT_COLUMNS),
        values=", ".join(f"%({name})s" for name in ENRICHMENT_COLUMNS),
        updates="".join(f"{name} = EXCLUDED.{name}, " for name in sorted(given)),
    )


class PostgresItems(ItemStates):
    """Items over PostgreSQL: one prepared statement per step."""

    def read(self, item_id: int, stage: str) -> ItemState | None:
        """Return an item, its task and its run of ``stage``; None if no such item."""
        row = _READ.one({"item": item_id, "stage": stage})
        if row is None:
            return None
        stages = Task.stages.python_value(row[4])
        return ItemState.of(item_id, (*row[:4], stages, *row[5:]))

    def begin_run(
        self, state: ItemState, stage: str, *, now: datetime, worker: str | None
    ) -> int | None:
        """Mark the stage running if the item and its run are as read; return the attempt."""
        params: dict[str, Any] = {
            "item": state.item_id,
            "seen": state.status,
            "stage": stage,
            "now": now,
            "worker": worker,
        }
        if state.run_status is None:
            row = _BEGIN_FIRST.one(params)
        else:
            params.update(run_status=state.run_status, run_attempts=state.run_attempts)
            row = _BEGIN_AGAIN.one(params)
        return None if row is None else int(row[0])

    def end_stage(
        self, state: ItemState, stage: str, *, status: Status, following: str, now: datetime
    ) -> tuple[bool, TaskCounts | None, dict[str, Stock]] | None:
        """Complete the stage's run and move the item on, if its task is as read."""
        row = _END_STAGE[status].one(
            {
                "item": state.item_id,
                "task": state.task_id,
                "cancelled": state.task_status == Status.CANCELLED,
                "stage": stage,
                "following": following,
                "now": now,
            }
        )
        assert row is not None
        task_as_read, moved, *counts = row[:9]
        if not task_as_read:
            return None
        here, urgent_here, there, urgent_there = row[9:]
        stock = {following: Stock(there, urgent_there), stage: Stock(here, urgent_here)}
        return bool(moved), _counts(counts), stock

    def end_item(
        self, item_id: int, status: Status, *, now: datetime, error: str | None, clear: bool
    ) -> TaskCounts | None:
        """Move an active item to a terminal status once and count it on its task."""
        row = _END_ITEM[status].one({"item": item_id, "now": now, "clear": clear, "error": error})
        return None if row is None else _counts(row)

    def urgent_waiting(self, stage: str, *, now: datetime) -> bool:
        """Tell whether an item of a rank-0 task waits to be fed at ``stage``."""
        row = _URGENT_WAITING.one({"stage": stage, "now": now})
        return bool(row and row[0])

    def link_of_item(self, item_id: int) -> Link | None:
        """Return the link a task item works on, or None if the item does not exist."""
        return _as_model(Link, _LINK_COLUMNS, _LINK_OF_ITEM.one({"item": item_id}))

    def article_of(self, link_id: int) -> Content | None:
        """Return a link's article title, text and language only; None if not parsed."""
        return _as_model(Content, ARTICLE_FIELDS, _ARTICLE_OF.one({"link": link_id}))

    def save_content(self, link_id: int, *, now: datetime, values: dict[str, Any]) -> int | None:
        """Store (or replace) a link's article, mark it parsed; return the first duplicate."""
        params: dict[str, Any] = {"link": link_id, "now": now}
        for name in _CONTENT_COLUMNS:
            params[name] = Content._meta.fields[name].db_value(values.get(name))
        row = one(_SAVE_CONTENT, params)
        return None if row is None or row[0] is None else int(row[0])

    def save_enrichment(
        self, link_id: int, *, now: datetime, names: Sequence[str], values: dict[str, Any]
    ) -> None:
        """Store (or replace) a link's enrichment and its tags; mark the link enriched."""
        params: dict[str, Any] = {"link": link_id, "now": now}
        for name in ENRICHMENT_COLUMNS:
            field = Enrichment._meta.fields[name]
            default = field.default() if callable(field.default) else field.default
            params[name] = field.db_value(values.get(name, default))
        params["tags"] = Enrichment.tags.db_value(list(names))
        params["names"] = sorted(names)
        database.execute_sql(_save_enrichment_sql(frozenset(values)), params)
