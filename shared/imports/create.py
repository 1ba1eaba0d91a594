"""Writing an import: links in batches, their metadata merged, one task for the new work.

:class:`Importer` reads an export as a stream of records (``shared.imports.detect``),
``BATCH`` records at a time: each batch finds the links it already has (by every
``www.``/scheme variant of the normalised URL, and by the URLs known links redirected
to), inserts the new ones with their metadata in one statement, merges the metadata
of the known ones, and adds an item to the import's task for each link that has never
been in a task. The whole import is one transaction: a bad file leaves nothing behind.
The task is started (fed) after commit, through ``TaskService.start_task``; the
answer, the fidelity report, comes before any link is processed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, BinaryIO

from shared.db import database, insert_rows, rows_where_in
from shared.errors import InvalidRequest
from shared.feed_limits import PRIORITIES
from shared.feeds import FeedService
from shared.imports import library
from shared.imports.detect import detect
from shared.imports.records import Record
from shared.imports.redirects import redirect_index
from shared.imports.report import ImportReport
from shared.imports.source import DEFAULT_MAX_BYTES
from shared.models import Feed, Link, Status, Task, TaskItem, utcnow
from shared.tasks import TaskService
from shared.urls import InvalidURL, identity_key, normalize_url, variants

logger = logging.getLogger(__name__)

#: Records per batch: one lookup, one insert of links and one of items each.
BATCH = 1000
TASK_TYPE = "import"
_LINK_COLUMNS = ("url", "normalized_url", "status", "created_at", "updated_at", *library.FIELDS)
_JSON_FIELDS = frozenset({"user_tags", "highlights"})


@dataclass
class ImportOptions:
    """How to import: the task's stages and priority, who asks, or only a dry run."""

    stages: list[str] | None = None
    priority: str = "normal"
    owner: str | None = None
    dry_run: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    #: Force a format by name instead of recognising it.
    format: str | None = None


@dataclass
class _Entry:
    """The first row of a URL in a batch, with the metadata of every row of it."""

    url: str
    normalized: str
    values: dict[str, Any]


@dataclass
class _State:
    """What an import remembers across batches (bounded: one key per distinct link)."""

    report: ImportReport
    source: str
    #: Identity key → link id (0 in a dry run for a link not created).
    seen: dict[str, int] = field(default_factory=dict)
    #: Hashes of the URLs as written, to tell a repeated row from another spelling.
    spellings: set[int] = field(default_factory=set)
    redirects: dict[str, int] = field(default_factory=dict)
    task_id: int | None = None


def batches(records: Iterable[Record], size: int = BATCH) -> Iterator[list[Record]]:
    """Yield lists of at most ``size`` records."""
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Importer:
    """Import exports through the task service (and the feed service for OPML)."""

    def __init__(self, tasks: TaskService, feeds: FeedService | None = None) -> None:
        self.tasks = tasks
        self.feeds = feeds or FeedService(tasks)

    def run(self, raw: BinaryIO, options: ImportOptions | None = None) -> ImportReport:
        """Import a seekable export; return its fidelity report (``BadFile`` if unreadable)."""
        options = options or ImportOptions()
        fmt = detect(raw, name=options.format)
        if options.priority not in PRIORITIES:
            raise InvalidRequest("priority", f"expected one of {', '.join(PRIORITIES)}")
        stages = TaskService.stages_of(options.stages, "pipeline")
        report = ImportReport(fmt.name, fmt.label, dry_run=options.dry_run)
        state = _State(report, fmt.name, redirects=redirect_index())
        if not options.dry_run:
            self.tasks.check_open_tasks(options.owner)
        with database.atomic() as transaction:
            for chunk in batches(fmt.read(raw, options.max_bytes)):
                self._batch(state, chunk, options, stages)
            if state.task_id is not None:
                total = report.items_queued
                Task.update(
                    total_items=total, feed_rank=self.tasks.limits.rank(options.priority, total)
                ).where(Task.id == state.task_id).execute()
            if options.dry_run:
                transaction.rollback()
        report.task_id = state.task_id
        if options.dry_run:
            report.status = "dry run: nothing imported"
        elif state.task_id is not None:
            report.status = str(self.tasks.start_task(state.task_id)["status"])
        logger.info(
            "import (%s): %d rows, %d new, %d known, task %s",
            fmt.name, report.rows_read, report.links_new, report.already_known, state.task_id,
        )  # fmt: skip
        return report

    # One batch ------------------------------------------------------------------------

    def _batch(
        self, state: _State, records: list[Record], options: ImportOptions, stages: list[str]
    ) -> None:
        report = state.report
        fresh: dict[str, _Entry] = {}
        repeats: dict[int, dict[str, Any]] = {}  # link id of an earlier batch → values
        for record in records:
            report.rows_read += 1
            for warning in record.warnings:
                report.warn(record.row, warning)
            url = record.url.strip()
            if record.refused:
                report.refuse(record.row, url, record.refused)
                continue
            try:
                normalized = normalize_url(url)
            except InvalidURL as ex:
                report.refuse(record.row, url, f"URL {ex}" if url else "no URL")
                continue
            if record.is_feed:
                self._feed(state, normalized, options)
                continue
            key = identity_key(normalized)
            spelling = hash(url)
            repeated = spelling in state.spellings
            state.spellings.add(spelling)
            values = library.values_of(record, state.source)
            if key in state.seen or key in fresh:
                if repeated:
                    report.duplicate_rows += 1
                else:
                    report.merged_by_normalisation += 1
                if key in fresh:
                    fresh[key].values = library.merge(fresh[key].values, values)
                elif state.seen[key]:
                    link_id = state.seen[key]
                    repeats[link_id] = library.merge(repeats.get(link_id, {}), values)
                continue
            fresh[key] = _Entry(url, normalized, values)
        known = self._known(state, fresh)
        new = {key: entry for key, entry in fresh.items() if key not in known}
        for key, link in known.items():
            entry = fresh[key]
            if link.normalized_url == entry.normalized:
                report.already_known += 1
            else:
                report.merged_by_normalisation += 1
            repeats[link.id] = library.merge(entry.values, repeats.get(link.id, {}))
            state.seen[key] = link.id
        report.links_new += len(new)
        if options.dry_run:
            for key in new:
                state.seen[key] = 0
            never = self._never_tasked([link.id for link in known.values()])
            report.items_queued += len(new) + len(never)
            return
        created = self._insert_links(new)
        for key, entry in new.items():
            state.seen[key] = created[entry.normalized]
        self._merge_known(state, repeats, known)
        wanted = [created[entry.normalized] for entry in new.values()]
        wanted += self._never_tasked([link.id for link in known.values()])
        if wanted:
            self._add_items(state, wanted, options, stages)

    def _known(self, state: _State, fresh: dict[str, _Entry]) -> dict[str, Link]:
        """Return the links this database already has for the batch's keys."""
        if not fresh:
            return {}
        candidates = [url for entry in fresh.values() for url in variants(entry.normalized)]
        found: dict[str, Link] = {}
        for link in self._links_by(Link.normalized_url, candidates):
            key = identity_key(link.normalized_url)
            if key not in found or link.id < found[key].id:
                found[key] = link
        redirected = {
            key: state.redirects[key]
            for key in fresh
            if key not in found and key in state.redirects
        }
        if redirected:
            by_id = {link.id: link for link in self._links_by(Link.id, list(redirected.values()))}
            found.update({key: by_id[i] for key, i in redirected.items() if i in by_id})
        return found

    @staticmethod
    def _links_by(column: Any, values: list[Any], *fields: Any) -> list[Any]:
        """Return the links whose ``column`` is one of ``values`` (only ``fields``: tuples)."""
        query = Link.select(*fields).tuples() if fields else Link.select()
        return rows_where_in(query, column, values)

    @staticmethod
    def _insert_links(new: dict[str, _Entry]) -> dict[str, int]:
        """Insert new links with their metadata; return normalised URL → id."""
        if not new:
            return {}
        now = utcnow()
        rows = [
            (entry.url, entry.normalized, "new", now, now, *_column_values(entry.values))
            for entry in new.values()
        ]
        insert_rows(Link._meta.table_name, _LINK_COLUMNS, rows, ignore_conflicts=True)
        norms = [entry.normalized for entry in new.values()]
        return dict(Importer._links_by(Link.normalized_url, norms, Link.normalized_url, Link.id))

    @staticmethod
    def _merge_known(
        state: _State, repeats: dict[int, dict[str, Any]], known: dict[str, Link]
    ) -> None:
        """Merge what the batch brings into links that existed (or came earlier)."""
        if not repeats:
            return
        rows = {link.id: link for link in known.values()}
        missing = [link_id for link_id in repeats if link_id not in rows]
        if missing:
            rows.update({link.id: link for link in Importer._links_by(Link.id, missing)})
        now = utcnow()
        for link_id, values in repeats.items():
            link = rows.get(link_id)
            if link is None:
                continue
            stored = library.stored_values(link)
            merged = library.merge(stored, values)
            if merged != stored:
                Link.update(**merged, updated_at=now).where(Link.id == link_id).execute()
                state.report.links_updated += 1

    @staticmethod
    def _never_tasked(link_ids: list[int]) -> list[int]:
        """Return the links (of ``link_ids``) that were never an item of any task."""
        if not link_ids:
            return []
        query = TaskItem.select(TaskItem.link).distinct().tuples()
        tasked = {row[0] for row in rows_where_in(query, TaskItem.link, link_ids)}
        return [link_id for link_id in dict.fromkeys(link_ids) if link_id not in tasked]

    def _add_items(
        self, state: _State, link_ids: list[int], options: ImportOptions, stages: list[str]
    ) -> None:
        if state.task_id is None:
            task = Task.create(
                type=TASK_TYPE,
                status=Status.PENDING,
                stages=stages,
                priority=options.priority,
                feed_rank=self.tasks.limits.rank(options.priority, 0),
                total_items=0,
                owner=options.owner,
                source="import",
            )
            state.task_id = int(task.id)
        TaskService.add_items(state.task_id, stages[0], link_ids)
        state.report.items_queued += len(link_ids)

    def _feed(self, state: _State, normalized: str, options: ImportOptions) -> None:
        """Subscribe to an OPML outline's feed (or count it when already subscribed)."""
        if options.dry_run:
            exists = Feed.select().where(Feed.url == normalized).exists()
            created = not exists
        else:
            _, created = self.feeds.add(normalized, priority=options.priority, owner=options.owner)
        if created:
            state.report.feeds_subscribed += 1
        else:
            state.report.feeds_known += 1


def _column_values(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        json.dumps(values[name], ensure_ascii=False)
        if name in _JSON_FIELDS and values[name] is not None
        else values[name]
        for name in library.FIELDS
    )
