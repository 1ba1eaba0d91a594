"""The item state machine, once: each transition reads, asks the rules, and writes.

:class:`ItemStates` says how an item moves (start, finish, fail, cancel, retry, the
roll-up of its task); the few statements every item runs at every stage are left to a
backend (``shared.items.postgres``, ``shared.items.sqlite``), which writes a rule's
answer only if what it read still holds, and otherwise lets the machine read again.
The rarer transitions (a failure, a cancel, a retry) are written once, with peewee, for
both backends.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from shared.db import database
from shared.items import rules
from shared.items.rules import HandOff, ItemState, Start, StartDecision, Stock, TaskCounts
from shared.models import TERMINAL, Content, Link, StageRun, Status, Task, TaskItem, utcnow

logger = logging.getLogger(__name__)

#: Reads and writes of one transition before it gives up: only a write that raced
#: another (a duplicate delivery, a cancel) is tried again, with what it read anew.
ROUNDS = 8


class ItemChanged(RuntimeError):
    """An item changed under every attempt of a transition (the message is retried)."""


class ItemStates(ABC):
    """How items move through their task's stages, over one database backend."""

    # -- what a backend writes: the statements every item runs at every stage ----------

    @abstractmethod
    def read(self, item_id: int, stage: str) -> ItemState | None:
        """Return an item, its task and its run of ``stage``; None if no such item."""

    @abstractmethod
    def begin_run(
        self, state: ItemState, stage: str, *, now: datetime, worker: str | None
    ) -> int | None:
        """Mark the stage running (creating its run if missing); return its attempt.

        Return None, writing nothing, if the item's status or the stage run's status or
        attempts are no longer those of ``state``.
        """

    @abstractmethod
    def end_stage(
        self, state: ItemState, stage: str, *, status: Status, following: str, now: datetime
    ) -> tuple[bool, TaskCounts | None, dict[str, Stock]] | None:
        """Record a stage's success: complete its run, move an active item on.

        The item takes ``status`` at stage ``following`` (a terminal status is counted on
        its task). Return whether it moved, if counted its task's counts, and the stock
        of ``stage`` and ``following`` where the backend counts it (else empty); None,
        writing nothing, if the task was cancelled or resumed since ``state`` was read.
        """

    @abstractmethod
    def end_item(
        self, item_id: int, status: Status, *, now: datetime, error: str | None, clear: bool
    ) -> TaskCounts | None:
        """Move an active item to a terminal status and count it; its task's counts.

        ``error`` is kept as the item's error; ``clear`` drops an earlier one instead.
        Return None when the item had already ended.
        """

    @abstractmethod
    def urgent_waiting(self, stage: str, *, now: datetime) -> bool:
        """Tell whether an item of a rank-0 task waits to be fed at ``stage``."""

    @abstractmethod
    def link_of_item(self, item_id: int) -> Link | None:
        """Return the link a task item works on, or None if the item does not exist."""

    @abstractmethod
    def article_of(self, link_id: int) -> Content | None:
        """Return a link's article title, text and language only; None if not parsed."""

    @abstractmethod
    def save_content(self, link_id: int, *, now: datetime, values: dict[str, Any]) -> int | None:
        """Store (or replace) a link's article, mark it parsed; return the first duplicate."""

    @abstractmethod
    def save_enrichment(
        self, link_id: int, *, now: datetime, names: Sequence[str], values: dict[str, Any]
    ) -> None:
        """Store (or replace) a link's enrichment and its tags ``names``; mark it enriched."""

    # -- the transitions ----------------------------------------------------------------

    def start_stage(
        self,
        item_id: int,
        stage: str,
        *,
        lease_seconds: float | None = None,
        max_deliveries: int | None = None,
        worker: str | None = None,
        worker_alive: Callable[[str], bool] | None = None,
    ) -> StartDecision:
        """Record that a worker starts ``stage`` of an item, unless it must not run."""
        for _ in range(ROUNDS):
            now = utcnow()
            state = self.read(item_id, stage)
            verdict = rules.decide_start(
                state,
                item_id,
                stage,
                now=now,
                lease_seconds=lease_seconds,
                max_deliveries=max_deliveries,
                worker_alive=worker_alive,
            )
            if verdict.action is Start.SKIP:
                return StartDecision(False, verdict.reason)
            assert state is not None
            if verdict.action is Start.CANCEL:
                self._end(item_id, Status.CANCELLED, now=now)
                return StartDecision(False, verdict.reason)
            if verdict.action is Start.GIVE_UP:
                self._fail_for_good(state.item_id, state.link_id, stage, verdict.reason, now)
                return StartDecision(False, f"item {item_id}: {verdict.reason}")
            attempt = self.begin_run(state, stage, now=now, worker=worker)
            if attempt is not None:
                return StartDecision(True, attempt=attempt, state=state)
        raise ItemChanged(f"item {item_id} changed under {ROUNDS} starts of {stage}")

    def finish_stage(self, item_id: int, stage: str, *, seen: ItemState | None = None) -> HandOff:
        """Record a stage's success and move the item to its next stage or complete it.

        ``seen`` is the item as its start read it (:attr:`StartDecision.state`): the
        finish then writes at once, and reads again only if the item changed since.
        Return where the item waits now (``following``, None when it ended) and the
        stock of the stages' queues for the feed that follows.
        """
        state = seen
        for _ in range(ROUNDS):
            now = utcnow()
            if state is None:
                state = self.read(item_id, stage)
                if state is None:
                    return HandOff(stage, None, now)
            status, following = rules.after_stage(state, stage)
            ended = self.end_stage(state, stage, status=status, following=following, now=now)
            if ended is None:
                state = None
                continue
            moved, counts, stock = ended
            if counts is not None:
                self._roll_up(counts, now)
            waits = following if moved and status == Status.PENDING else None
            return HandOff(stage, waits, now, stock)
        raise ItemChanged(f"item {item_id} changed under {ROUNDS} finishes of {stage}")

    def fail_stage(
        self,
        item_id: int,
        stage: str,
        error: str,
        *,
        final: bool,
        attempt: int,
        counts: bool = True,
    ) -> None:
        """Record a stage's failure: the item waits for a retry, or fails for good.

        ``attempt`` is the stage attempt that failed: the retry may already have started
        when this is recorded, and its state must not be overwritten by the older attempt.
        A delivery that only met a rate limit or an outage (``counts=False``) is given
        back: it uses up no attempt and does not count towards the poison guard.
        """
        now = utcnow()
        with database.atomic():
            link_id = TaskItem.select(TaskItem.link).where(TaskItem.id == item_id).scalar()
            if link_id is None:
                return
            if final:
                self._fail_for_good(item_id, link_id, stage, error, now)
                return
            given_back = 0 if counts else 1
            recorded = (
                StageRun.update(
                    status=Status.QUEUED.value,
                    error=rules.clip(error),
                    finished_at=now,
                    attempts=StageRun.attempts - given_back,
                )
                .where(
                    (StageRun.item == item_id)
                    & (StageRun.stage == stage)
                    & (StageRun.attempts == attempt)
                    & (StageRun.status == Status.RUNNING.value)
                )
                .execute()
            )
            if recorded:
                TaskItem.update(
                    status=Status.QUEUED.value,
                    error=rules.clip(f"{stage}: {error}"),
                    attempts=TaskItem.attempts - given_back,
                    updated_at=now,
                ).where((TaskItem.id == item_id) & _active()).execute()

    def cancel_task(self, task_id: int) -> int:
        """Cancel a task: items not yet running end now, running ones after their step.

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
            # Their runs were waiting too (queued, or reset to pending): the stage counts
            # say cancelled, not queued. Runs under way end with their step.
            StageRun.update(status=Status.CANCELLED.value, finished_at=now).where(
                StageRun.item.in_(
                    TaskItem.select(TaskItem.id).where(
                        (TaskItem.task == task_id) & (TaskItem.status == Status.CANCELLED.value)
                    )
                )
                & StageRun.status.in_([Status.PENDING.value, Status.QUEUED.value])
            ).execute()
            Task.update(status=Status.CANCELLED.value, updated_at=now).where(
                (Task.id == task_id) & Task.status.not_in([s.value for s in TERMINAL])
            ).execute()
            if waiting:
                Task.update(cancelled_items=Task.cancelled_items + waiting, updated_at=now).where(
                    Task.id == task_id
                ).execute()
            self.roll_up(task_id)
        return int(waiting)

    def mark_queued(self, task_id: int) -> None:
        """Move a new task to ``queued``: its items are fed (or wait to be) from now on."""
        Task.update(status=Status.QUEUED.value, updated_at=utcnow()).where(
            (Task.id == task_id) & (Task.status == Status.PENDING.value)
        ).execute()

    def reopen_failed_items(
        self, task_id: int | None = None, *, item_ids: list[int] | None = None
    ) -> list[tuple[int, list[str]]]:
        """Reset failed items (of a task, or given by id) for a retry from their failed stage.

        The items wait to be fed again (``pending``). The failed stage's delivery count
        starts again (the poison guard counts deliveries since the last retry; the
        item's ``attempts`` keep the total). Return, per reset item, its id and the
        stages it still has to run.
        """
        now = utcnow()
        with database.atomic():
            query = (
                TaskItem.select(TaskItem, Task)
                .join(Task)
                .where(TaskItem.status == Status.FAILED.value)
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

    def roll_up(self, task_id: int) -> None:
        """Finish a task whose items have all ended (the reconciler's repair)."""
        counts = task_counts(task_id)
        if counts is not None:
            self._roll_up(counts, utcnow())

    # -- shared steps -----------------------------------------------------------------

    def _end(
        self, item_id: int, status: Status, *, now: datetime, error: str | None = None
    ) -> bool:
        counts = self.end_item(item_id, status, now=now, error=error, clear=False)
        if counts is not None:
            self._roll_up(counts, now)
        return counts is not None

    def _fail_for_good(
        self, item_id: int, link_id: int, stage: str, error: str, now: datetime
    ) -> None:
        StageRun.update(status=Status.FAILED.value, error=rules.clip(error), finished_at=now).where(
            (StageRun.item == item_id) & (StageRun.stage == stage)
        ).execute()
        if self._end(item_id, Status.FAILED, now=now, error=rules.clip(f"{stage}: {error}")):
            Link.update(status="failed", updated_at=now).where(Link.id == link_id).execute()

    def _roll_up(self, counts: TaskCounts, now: datetime) -> None:
        """End the task once every item has (a write only if its counts still hold)."""
        for _ in range(ROUNDS):
            if not counts.done:
                return
            ended = (
                Task.update(status=rules.rolled_up(counts).value, finished_at=now, updated_at=now)
                .where(
                    (Task.id == counts.task_id)
                    & Task.finished_at.is_null()
                    & (Task.status == counts.status)
                    & (Task.completed_items == counts.completed)
                    & (Task.failed_items == counts.failed)
                    & (Task.cancelled_items == counts.cancelled)
                    & (Task.total_items == counts.total)
                )
                .execute()
            )
            if ended:
                return
            fresh = task_counts(counts.task_id)
            if fresh is None:
                return
            counts = fresh
        logger.warning("task %d kept changing; the reconciler finishes it", counts.task_id)


def _active() -> Any:
    """Return the condition of an item that has not ended."""
    return TaskItem.status.not_in([status.value for status in TERMINAL])


def task_counts(task_id: int) -> TaskCounts | None:
    """Return a task's status and counters as they are now."""
    row = (
        Task.select(
            Task.status,
            Task.total_items,
            Task.completed_items,
            Task.failed_items,
            Task.cancelled_items,
            Task.finished_at,
        )
        .where(Task.id == task_id)
        .tuples()
        .first()
    )
    if row is None:
        return None
    status, total, completed, failed, cancelled, finished_at = row
    return TaskCounts(
        task_id, status, total, completed, failed, cancelled, finished=finished_at is not None
    )
