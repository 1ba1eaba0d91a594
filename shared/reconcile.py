"""The reconciler: finish every item whatever Redis lost, from what PostgreSQL knows.

Run every minute by the scheduler's tick (one instance at a time). It sends again the
message of every item whose current stage is overdue:

- ``running`` stages whose worker process stopped sending heartbeats, after the grace
  period, or older than the stage's time limit plus grace (a live worker ends or fails the
  stage within its time limit);
- ``queued`` stages older than the grace period while their queue is empty (Redis lost its
  data, or a message was dropped), or older than ``RECONCILE_QUEUED_AFTER`` otherwise.

Sending twice is safe: a stage that completed, or runs elsewhere within its lease, skips
the extra message. Then it feeds every stage queue up to its caps (``shared.feeding``):
the safety net of the workers' feeding, for ``pending`` items nobody fed (a feed that
failed, a process that died between commit and feed). Then tasks whose counters
disagree with their items are corrected and tasks whose items are all finished are
finished.

Recovery bound: an item stranded at any moment is running again within one tick (60 s)
plus its grace period (30 s) — plus Dramatiq's heartbeat timeout when its worker died
while running it (the stage's time limit when the worker is unknown).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from peewee import fn

from shared import items, search
from shared.db import database
from shared.feed_limits import FeedLimits
from shared.feeding import feed_all, item_message
from shared.models import StageRun, Status, Task, TaskItem, utcnow
from shared.pipeline import get_stage
from shared.settings import Settings

logger = logging.getLogger(__name__)

#: At most this many items are sent again per run: a huge loss is repaired over ticks
#: instead of one run that outlives its time limit.
BATCH_LIMIT = 5000


@dataclass
class ReconcileReport:
    """What one reconciler run repaired."""

    #: Items fed to their queues (waiting ``pending`` ones).
    pending_sent: int = 0
    running_resent: int = 0
    queued_resent: int = 0
    counters_fixed: int = 0
    tasks_finished: int = 0
    #: Links whose search document was older than their article (not enriched since).
    reindexed: int = 0
    resent_items: list[int] = field(default_factory=list)

    @property
    def repaired(self) -> int:
        """Return how many items were sent again."""
        return self.pending_sent + self.running_resent + self.queued_resent


def _send(broker: dramatiq.Broker, item: TaskItem) -> None:
    """Send the message of the item's current stage (its next ones are fed in turn)."""
    broker.enqueue(item_message(get_stage(item.stage), item.id))


class Reconciler:
    """Find items whose stage is overdue and send their messages again."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        settings: Settings,
        *,
        queue_is_empty: Callable[[str], bool],
        worker_alive: Callable[[str], bool] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.broker = broker
        self.settings = settings
        self.queue_is_empty = queue_is_empty
        self.worker_alive = worker_alive
        self.clock = clock
        self.grace = timedelta(seconds=settings.reconcile_grace)
        self.limits = FeedLimits.from_settings(settings)

    def run(self) -> ReconcileReport:
        """Repair what can be repaired now; return what was done."""
        report = ReconcileReport()
        with database.connection_context():
            self._running(report)
            self._queued(report)
            report.pending_sent = feed_all(self.broker, self.limits, clock=self.clock)
            self._tasks(report)
            report.reindexed = search.reindex_stale()
        if report.repaired or report.counters_fixed or report.tasks_finished:
            logger.warning(
                "reconciler: fed %d pending, sent again %d abandoned running, "
                "%d lost queued items; fixed %d task counters, finished %d tasks",
                report.pending_sent,
                report.running_resent,
                report.queued_resent,
                report.counters_fixed,
                report.tasks_finished,
            )
        return report

    def _running(self, report: ReconcileReport) -> None:
        now = self.clock()
        for stage_name in ("parse", "enrich", "publish"):
            limit = timedelta(seconds=self.settings.stage_timeout(get_stage(stage_name).queue))
            cutoff = now - limit - self.grace
            runs = [
                run
                for run in self._running_since(stage_name, now - self.grace)
                if (run.started_at is not None and run.started_at < cutoff) or self._owner_dead(run)
            ]
            for run in runs:
                # Hand the stage back to the queue only if nobody restarted it meanwhile.
                released = (
                    StageRun.update(status=Status.QUEUED.value, queued_at=now)
                    .where(
                        (StageRun.id == run.id)
                        & (StageRun.status == Status.RUNNING.value)
                        & (StageRun.started_at == run.started_at)
                    )
                    .execute()
                )
                if not released:
                    continue
                TaskItem.update(status=Status.QUEUED.value, updated_at=now).where(
                    (TaskItem.id == run.item.id) & (TaskItem.status == Status.RUNNING.value)
                ).execute()
                _send(self.broker, run.item)
                report.running_resent += 1
                report.resent_items.append(run.item.id)

    def _running_since(self, stage_name: str, cutoff: datetime) -> list[StageRun]:
        return list(
            StageRun.select(StageRun, TaskItem, Task)
            .join(TaskItem)
            .join(Task)
            .where(
                (StageRun.stage == stage_name)
                & (StageRun.status == Status.RUNNING.value)
                & (StageRun.started_at < cutoff)
                & (TaskItem.status == Status.RUNNING.value)
                & (TaskItem.stage == stage_name)
            )
            .limit(BATCH_LIMIT)
        )

    def _owner_dead(self, run: StageRun) -> bool:
        """Tell whether the worker process that started ``run`` stopped sending heartbeats."""
        worker: str | None = run.worker
        if not worker or self.worker_alive is None:
            return False
        return not self.worker_alive(worker)

    def _queued(self, report: ReconcileReport) -> None:
        now = self.clock()
        for stage_name in ("parse", "enrich", "publish"):
            wait = (
                self.grace
                if self.queue_is_empty(get_stage(stage_name).queue)
                else timedelta(seconds=self.settings.reconcile_queued_after)
            )
            cutoff = now - wait
            since = fn.COALESCE(StageRun.finished_at, StageRun.queued_at, TaskItem.created_at)
            runs = list(
                StageRun.select(StageRun, TaskItem, Task)
                .join(TaskItem)
                .join(Task)
                .where(
                    (StageRun.stage == stage_name)
                    & (StageRun.status == Status.QUEUED.value)
                    & (TaskItem.status == Status.QUEUED.value)
                    & (TaskItem.stage == stage_name)
                    & (since < cutoff)
                    & (fn.COALESCE(StageRun.queued_at, TaskItem.created_at) < cutoff)
                )
                .limit(BATCH_LIMIT)
            )
            for run in runs:
                # Restart the clock so the same item is not sent again on the next tick.
                StageRun.update(queued_at=now, finished_at=None).where(
                    StageRun.id == run.id
                ).execute()
                _send(self.broker, run.item)
                report.queued_resent += 1
                report.resent_items.append(run.item.id)

    def _tasks(self, report: ReconcileReport) -> None:
        open_tasks = Task.select().where(Task.finished_at.is_null())
        for task in open_tasks:
            rows: Any = (
                TaskItem.select(TaskItem.status, fn.COUNT(TaskItem.id))
                .where(TaskItem.task == task.id)
                .group_by(TaskItem.status)
                .tuples()
            )
            counts: dict[str, int] = dict(rows)
            actual = {
                "completed_items": counts.get(Status.COMPLETED.value, 0),
                "failed_items": counts.get(Status.FAILED.value, 0),
                "cancelled_items": counts.get(Status.CANCELLED.value, 0),
            }
            if any(getattr(task, name) != value for name, value in actual.items()):
                logger.error("task %d counters disagreed with its items; corrected", task.id)
                Task.update(**actual).where(Task.id == task.id).execute()
                report.counters_fixed += 1
            if sum(actual.values()) >= task.total_items and task.total_items:
                with database.atomic():
                    items.current().roll_up(task.id)
                if Task.get_by_id(task.id).finished_at is not None:
                    report.tasks_finished += 1
