"""State transitions of task items and the roll-up of their task's counters.

Every transition is one transaction of conditional updates: an item reaches a terminal
status at most once, so a redelivered message can never count twice, and a task's
counters always equal its items' statuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import Case, fn

from shared import hotpath
from shared.db import database, is_postgres
from shared.models import TERMINAL, Link, StageRun, Status, Task, TaskItem, utcnow
from shared.pipeline import next_stage

logger = logging.getLogger(__name__)

_COUNTER = {
    Status.COMPLETED: Task.completed_items,
    Status.FAILED: Task.failed_items,
    Status.CANCELLED: Task.cancelled_items,
}
MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class StartDecision:
    """Whether a delivered stage message should run, and why not if it should not."""

    run: bool
    reason: str = ""
    attempt: int = 0


def _clip(error: str) -> str:
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


def roll_up(task_id: int) -> None:
    """Finish the task once every item is terminal."""
    now = utcnow()
    done = Task.completed_items + Task.failed_items + Task.cancelled_items
    Task.update(
        status=Case(
            None,
            (
                (Task.status == Status.CANCELLED, Status.CANCELLED.value),
                (Task.failed_items > 0, Status.FAILED.value),
            ),
            Status.COMPLETED.value,
        ),
        finished_at=now,
        updated_at=now,
    ).where(
        (Task.id == task_id) & (done >= Task.total_items) & Task.finished_at.is_null()
    ).execute()


def _terminate(
    item: TaskItem, status: Status, error: str | None = None, *, clear_error: bool = False
) -> bool:
    """Move an item to a terminal status once; count it on its task. Return if it moved.

    ``error`` is kept as the item's error; ``clear_error`` drops an earlier one instead.
    """
    now = utcnow()
    changes: dict[Any, Any] = {
        TaskItem.status: status.value,
        TaskItem.finished_at: now,
        TaskItem.updated_at: now,
    }
    if error is not None:
        changes[TaskItem.error] = _clip(error)
    elif clear_error:
        changes[TaskItem.error] = None
    moved = (
        TaskItem.update(changes)
        .where((TaskItem.id == item.id) & TaskItem.status.not_in([s.value for s in TERMINAL]))
        .execute()
    )
    if moved:
        counter = _COUNTER[status]
        Task.update({counter: counter + 1, Task.updated_at: now}).where(
            Task.id == item.task_id
        ).execute()
        roll_up(item.task_id)
    return bool(moved)


def _item_and_task(item_id: int, *, lock: bool) -> TaskItem | None:
    """Read an item with its task's status and stages in one query (``item.task``).

    ``lock`` holds the item's row lock on PostgreSQL until the transaction ends, so two
    deliveries of one item's message serialise here: the second sees what the first
    recorded. The task's row is not locked: feeders lock task rows after item rows,
    and so does every writer here.
    """
    query = (
        TaskItem.select(
            TaskItem.id,
            TaskItem.task,
            TaskItem.link,
            TaskItem.status,
            TaskItem.stage,
            Task.id,
            Task.status,
            Task.stages,
        )
        .join(Task)
        .where(TaskItem.id == item_id)
    )
    if lock and is_postgres():
        query = query.for_update(of=TaskItem)
    return query.first()


def start_stage(
    item_id: int,
    stage: str,
    *,
    lease_seconds: float | None = None,
    max_deliveries: int | None = None,
    worker: str | None = None,
    worker_alive: Callable[[str], bool] | None = None,
) -> StartDecision:
    """Record that a worker starts ``stage`` of an item, unless it must not run.

    A message is skipped when its item is finished or cancelled, when the stage already
    completed (a duplicate delivery), or when another worker runs the stage: its worker
    process still sends heartbeats (``worker_alive``), or, when the worker is unknown, it
    started less than ``lease_seconds`` ago (its time limit: a live worker ends or fails by
    then). A stage whose worker died is taken over at once. Past
    ``max_deliveries`` starts of one stage the item fails: a page that kills its worker
    must not loop forever.
    """
    if hotpath.usable():
        attempt = hotpath.start_stage(
            item_id, stage, now=utcnow(), worker=worker, max_deliveries=max_deliveries
        )
        if attempt is not None:
            return StartDecision(True, attempt=attempt)
    with database.atomic():
        item = _item_and_task(item_id, lock=True)
        if item is None:
            return StartDecision(False, f"item {item_id} does not exist")
        task = item.task
        if item.status in TERMINAL:
            return StartDecision(False, f"item {item_id} is already {item.status}")
        if task.status == Status.CANCELLED:
            _terminate(item, Status.CANCELLED)
            return StartDecision(False, f"task {task.id} was cancelled")
        run, _ = StageRun.get_or_create(item=item_id, stage=stage)
        if run.status == Status.COMPLETED:
            return StartDecision(False, f"stage {stage} of item {item_id} is already done")
        now = utcnow()
        if run.status == Status.RUNNING and _running_elsewhere(
            run, now, lease_seconds, worker_alive
        ):
            return StartDecision(False, f"stage {stage} of item {item_id} is running elsewhere")
        if max_deliveries is not None and run.attempts >= max_deliveries:
            error = f"gave up after {run.attempts} deliveries (the stage never finished)"
            _record_final_failure(item, stage, error, now)
            return StartDecision(False, f"item {item_id}: {error}")
        StageRun.update(
            status=Status.RUNNING.value,
            attempts=StageRun.attempts + 1,
            started_at=now,
            finished_at=None,
            worker=worker,
        ).where(StageRun.id == run.id).execute()
        TaskItem.update(
            status=Status.RUNNING.value,
            stage=stage,
            attempts=TaskItem.attempts + 1,
            started_at=fn.COALESCE(TaskItem.started_at, now),
            updated_at=now,
        ).where(TaskItem.id == item_id).execute()
        if task.status in (Status.PENDING, Status.QUEUED):
            # The task's first start (a task already running needs no statement). A
            # retried task keeps when it first started: its duration covers all its work.
            Task.update(
                status=Status.RUNNING.value,
                started_at=fn.COALESCE(Task.started_at, now),
                updated_at=now,
            ).where(
                (Task.id == task.id)
                & (Task.status.in_([Status.PENDING.value, Status.QUEUED.value]))
            ).execute()
        return StartDecision(True, attempt=run.attempts + 1)


def _running_elsewhere(
    run: StageRun,
    now: datetime,
    lease_seconds: float | None,
    worker_alive: Callable[[str], bool] | None,
) -> bool:
    if run.worker and worker_alive is not None:
        return worker_alive(run.worker)
    if lease_seconds is None or run.started_at is None:
        return False
    return (now - run.started_at).total_seconds() < lease_seconds


def _record_final_failure(item: TaskItem, stage: str, error: str, now: datetime) -> None:
    StageRun.update(status=Status.FAILED.value, error=_clip(error), finished_at=now).where(
        (StageRun.item == item.id) & (StageRun.stage == stage)
    ).execute()
    if _terminate(item, Status.FAILED, f"{stage}: {error}"):
        Link.update(status="failed", updated_at=now).where(Link.id == item.link_id).execute()


def finish_stage(item_id: int, stage: str) -> str | None:
    """Record a stage's success and move the item to its next stage or complete it.

    Return the stage the item now waits at (to be fed), or ``None`` when it ended.
    """
    if hotpath.usable():
        moved, following = hotpath.finish_stage(item_id, stage, now=utcnow())
        if moved:
            return following
    with database.atomic():
        item = _item_and_task(item_id, lock=True)
        if item is None:
            return None
        now = utcnow()
        run = (
            StageRun.select(StageRun.id, StageRun.started_at)
            .where((StageRun.item == item_id) & (StageRun.stage == stage))
            .get()
        )
        duration = int((now - run.started_at).total_seconds() * 1000) if run.started_at else None
        StageRun.update(
            status=Status.COMPLETED.value, finished_at=now, duration_ms=duration, error=None
        ).where(StageRun.id == run.id).execute()
        # The stage passed: an error of an earlier attempt no longer describes the item.
        task = item.task
        following = next_stage(task.stages, stage)
        if task.status == Status.CANCELLED:
            _terminate(item, Status.CANCELLED, clear_error=True)
            return None
        if following is None:
            _terminate(item, Status.COMPLETED, clear_error=True)
            return None
        # The item waits at its next stage until a feed gives it a slot in that queue.
        moved = (
            TaskItem.update(
                status=Status.PENDING.value, stage=following, error=None, updated_at=now
            )
            .where((TaskItem.id == item_id) & TaskItem.status.not_in([s.value for s in TERMINAL]))
            .execute()
        )
        return following if moved else None


def fail_stage(
    item_id: int, stage: str, error: str, *, final: bool, attempt: int, counts: bool = True
) -> None:
    """Record a stage's failure: the item waits for a retry, or fails for good.

    ``attempt`` is the stage attempt that failed: the retry may already have started
    when this is recorded, and its state must not be overwritten by the older attempt.
    A delivery that only met a rate limit or an outage (``counts=False``) is given back:
    it uses up no attempt and does not count towards the poison guard's deliveries.
    """
    with database.atomic():
        item = _item_and_task(item_id, lock=True)
        if item is None:
            return
        now = utcnow()
        if final:
            _record_final_failure(item, stage, error, now)
            return
        current = (
            (StageRun.item == item_id)
            & (StageRun.stage == stage)
            & (StageRun.attempts == attempt)
            & (StageRun.status == Status.RUNNING.value)
        )
        given_back = 0 if counts else 1
        recorded = (
            StageRun.update(
                status=Status.QUEUED.value,
                error=_clip(error),
                finished_at=now,
                attempts=StageRun.attempts - given_back,
            )
            .where(current)
            .execute()
        )
        if recorded:
            TaskItem.update(
                status=Status.QUEUED.value,
                error=_clip(f"{stage}: {error}"),
                attempts=TaskItem.attempts - given_back,
                updated_at=now,
            ).where(
                (TaskItem.id == item_id) & TaskItem.status.not_in([s.value for s in TERMINAL])
            ).execute()


def mark_queued(task_id: int) -> None:
    """Move a new task to ``queued``: its items are fed (or wait to be) from now on."""
    now = utcnow()
    Task.update(status=Status.QUEUED.value, updated_at=now).where(
        (Task.id == task_id) & (Task.status == Status.PENDING.value)
    ).execute()


def cancel_task(task_id: int) -> int:
    """Cancel a task: items not yet running are cancelled now, running ones after their step.

    Return how many items were cancelled at once.
    """
    now = utcnow()
    with database.atomic():
        # Items first, then the task: the order every other writer locks them in (a
        # feeder claims items, then marks their task), so a cancel never deadlocks one.
        waiting = (
            TaskItem.update(status=Status.CANCELLED.value, finished_at=now, updated_at=now)
            .where(
                (TaskItem.task == task_id)
                & TaskItem.status.in_([Status.PENDING.value, Status.QUEUED.value])
            )
            .execute()
        )
        Task.update(status=Status.CANCELLED.value, updated_at=now).where(
            (Task.id == task_id) & Task.status.not_in([s.value for s in TERMINAL])
        ).execute()
        if waiting:
            Task.update(cancelled_items=Task.cancelled_items + waiting, updated_at=now).where(
                Task.id == task_id
            ).execute()
        roll_up(task_id)
    return int(waiting)


def reopen_failed_items(
    task_id: int | None = None, *, item_ids: list[int] | None = None
) -> list[tuple[int, list[str]]]:
    """Reset failed items (of a task, or given by id) for a retry from their failed stage.

    The items wait to be fed again (``pending``). The failed stage's delivery count
    starts again (the poison guard counts deliveries since the last retry; the item's
    ``attempts`` keep the total). Return, per reset item,
    its id and the stages it still has to run.
    """
    now = utcnow()
    with database.atomic():
        query = (
            TaskItem.select(TaskItem, Task).join(Task).where(TaskItem.status == Status.FAILED.value)
        )
        if task_id is not None:
            query = query.where(TaskItem.task == task_id)
        if item_ids is not None:
            query = query.where(TaskItem.id.in_(item_ids))
        failed = list(query.order_by(TaskItem.id))
        if not failed:
            return []
        ids = [item.id for item in failed]
        TaskItem.update(status=Status.PENDING.value, finished_at=None, updated_at=now).where(
            TaskItem.id.in_(ids)
        ).execute()
        StageRun.update(
            status=Status.PENDING.value, queued_at=None, finished_at=None, attempts=0
        ).where(StageRun.item.in_(ids) & (StageRun.status == Status.FAILED.value)).execute()
        per_task: dict[int, int] = {}
        for item in failed:
            per_task[item.task_id] = per_task.get(item.task_id, 0) + 1
        for owner, count in per_task.items():
            Task.update(
                status=Status.QUEUED.value,
                failed_items=Task.failed_items - count,
                finished_at=None,
                updated_at=now,
            ).where(Task.id == owner).execute()
        return [
            (item.id, item.task.stages[item.task.stages.index(item.stage) :]) for item in failed
        ]
