"""The item statements of local mode, with peewee over SQLite.

Every write runs in a transaction that takes SQLite's write lock as it begins
(``shared.db.SqliteImmediateDatabase``): writers queue up, and what a statement checks
is still true when the next one writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from peewee import JOIN, fn

from shared.db import database
from shared.items.base import ItemStates, _active, task_counts
from shared.items.rules import COUNTER, ItemState, Stock, TaskCounts
from shared.models import (
    TERMINAL,
    Content,
    Enrichment,
    Link,
    StageRun,
    Status,
    Task,
    TaskItem,
)
from shared.store import ARTICLE_FIELDS, set_link_status, upsert
from shared.tags import set_link_tags


class SqliteItems(ItemStates):
    """Items over SQLite (or any database peewee speaks), one transaction per step."""

    def read(self, item_id: int, stage: str) -> ItemState | None:
        """Return an item, its task and its run of ``stage``; None if no such item."""
        row = (
            TaskItem.select(
                TaskItem.task,
                TaskItem.link,
                TaskItem.status,
                Task.status,
                Task.stages,
                StageRun.status,
                StageRun.attempts,
                StageRun.worker,
                StageRun.started_at,
            )
            .join(Task)
            .switch(TaskItem)
            .join(
                StageRun,
                on=(StageRun.item == TaskItem.id) & (StageRun.stage == stage),
                join_type=JOIN.LEFT_OUTER,
            )
            .where(TaskItem.id == item_id)
            .tuples()
            .first()
        )
        if row is None:
            return None
        return ItemState.of(item_id, row)

    def begin_run(
        self, state: ItemState, stage: str, *, now: datetime, worker: str | None
    ) -> int | None:
        """Mark the stage running if the item and its run are as read; return the attempt."""
        with database.atomic():
            unchanged = (
                TaskItem.select()
                .where((TaskItem.id == state.item_id) & (TaskItem.status == state.status))
                .exists()
            )
            if not unchanged:
                return None
            if state.run_status is None:
                if (
                    StageRun.select()
                    .where((StageRun.item == state.item_id) & (StageRun.stage == stage))
                    .exists()
                ):
                    return None
                StageRun.insert(
                    item=state.item_id,
                    stage=stage,
                    status=Status.RUNNING.value,
                    attempts=1,
                    started_at=now,
                    worker=worker,
                ).execute()
            else:
                started = (
                    StageRun.update(
                        status=Status.RUNNING.value,
                        attempts=StageRun.attempts + 1,
                        started_at=now,
                        finished_at=None,
                        worker=worker,
                    )
                    .where(
                        (StageRun.item == state.item_id)
                        & (StageRun.stage == stage)
                        & (StageRun.status == state.run_status)
                        & (StageRun.attempts == state.run_attempts)
                    )
                    .execute()
                )
                if not started:
                    return None
            TaskItem.update(
                status=Status.RUNNING.value,
                stage=stage,
                attempts=TaskItem.attempts + 1,
                started_at=fn.COALESCE(TaskItem.started_at, now),
                updated_at=now,
            ).where(TaskItem.id == state.item_id).execute()
            # The task's first start; a retried task keeps when it first started.
            Task.update(
                status=Status.RUNNING.value,
                started_at=fn.COALESCE(Task.started_at, now),
                updated_at=now,
            ).where(
                (Task.id == state.task_id)
                & Task.status.in_([Status.PENDING.value, Status.QUEUED.value])
            ).execute()
        return state.run_attempts + 1

    def end_stage(
        self, state: ItemState, stage: str, *, status: Status, following: str, now: datetime
    ) -> tuple[bool, TaskCounts | None, dict[str, Stock]] | None:
        """Complete the stage's run and move the item on, if its task is as read.

        Local mode feeds after every finished item (its queues are in the process): no
        stock is counted.
        """
        with database.atomic():
            task_status = Task.select(Task.status).where(Task.id == state.task_id).scalar()
            cancelled = Status.CANCELLED.value
            if (task_status == cancelled) != (state.task_status == cancelled):
                return None
            StageRun.update(
                status=Status.COMPLETED.value,
                error=None,
                finished_at=now,
                duration_ms=_elapsed_ms(state.item_id, stage, now),
            ).where((StageRun.item == state.item_id) & (StageRun.stage == stage)).execute()
            if status in TERMINAL:
                counts = self.end_item(state.item_id, status, now=now, error=None, clear=True)
                return counts is not None, counts, {}
            moved = (
                TaskItem.update(status=status.value, stage=following, error=None, updated_at=now)
                .where((TaskItem.id == state.item_id) & _active())
                .execute()
            )
            return bool(moved), None, {}

    def end_item(
        self, item_id: int, status: Status, *, now: datetime, error: str | None, clear: bool
    ) -> TaskCounts | None:
        """Move an active item to a terminal status once and count it on its task."""
        changes: dict[Any, Any] = {
            TaskItem.status: status.value,
            TaskItem.finished_at: now,
            TaskItem.updated_at: now,
        }
        if error is not None:
            changes[TaskItem.error] = error
        elif clear:
            changes[TaskItem.error] = None
        with database.atomic():
            task_id = TaskItem.select(TaskItem.task).where(TaskItem.id == item_id).scalar()
            moved = TaskItem.update(changes).where((TaskItem.id == item_id) & _active()).execute()
            if not moved:
                return None
            counter = getattr(Task, COUNTER[status])
            Task.update({counter: counter + 1, Task.updated_at: now}).where(
                Task.id == task_id
            ).execute()
            return task_counts(task_id)

    def urgent_waiting(self, stage: str, *, now: datetime) -> bool:
        """Tell whether an item of a rank-0 task waits to be fed at ``stage``."""
        waiting_here = TaskItem.select(TaskItem.id).where(
            (TaskItem.task == Task.id)
            & (TaskItem.stage == stage)
            & (TaskItem.status == Status.PENDING.value)
        )
        return bool(
            Task.select(Task.id)
            .where(
                Task.finished_at.is_null()
                & (Task.feed_rank == 0)
                & (Task.status != Status.CANCELLED.value)
                & (Task.run_at.is_null() | (Task.run_at <= now))
                & fn.EXISTS(waiting_here)
            )
            .exists()
        )

    def link_of_item(self, item_id: int) -> Link | None:
        """Return the link a task item works on, or None if the item does not exist."""
        return Link.select().join(TaskItem).where(TaskItem.id == item_id).first()

    def article_of(self, link_id: int) -> Content | None:
        """Return a link's article title, text and language only; None if not parsed."""
        return (
            Content.select(*(getattr(Content, name) for name in ARTICLE_FIELDS))
            .where(Content.link == link_id)
            .first()
        )

    def save_content(self, link_id: int, *, now: datetime, values: dict[str, Any]) -> int | None:
        """Store (or replace) a link's article, mark it parsed; return the first duplicate."""
        with database.atomic():
            first = (
                Content.select(Content.link)
                .where((Content.content_hash == values["content_hash"]) & (Content.link != link_id))
                .order_by(Content.link)
                .first()
            )
            duplicate_of = first.link_id if first else None
            upsert(Content, link_id, {**values, "duplicate_of": duplicate_of}, now)
            set_link_status(link_id, "parsed", now)
        return duplicate_of

    def save_enrichment(
        self, link_id: int, *, now: datetime, names: Sequence[str], values: dict[str, Any]
    ) -> None:
        """Store (or replace) a link's enrichment and its tags; mark the link enriched."""
        with database.atomic():
            upsert(Enrichment, link_id, {**values, "tags": list(names)}, now)
            set_link_tags(link_id, names)
            set_link_status(link_id, "enriched", now)


def _elapsed_ms(item_id: int, stage: str, now: datetime) -> int | None:
    started = (
        StageRun.select(StageRun.started_at)
        .where((StageRun.item == item_id) & (StageRun.stage == stage))
        .scalar()
    )
    if started is None:
        return None
    return int((now - started).total_seconds() * 1000)
