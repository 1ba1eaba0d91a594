"""Admission control: feed task items to their stage queues in bounded batches.

An item waits in the database (``pending``) until it is fed: a feed of one stage takes
the free slots of its queue — ``QUEUE_MAX_IN_FLIGHT`` over all tasks and
``TASK_MAX_IN_FLIGHT`` per task, counting the items ``queued`` or ``running`` at that
stage — and hands them out by priority, then round-robin among the tasks of one
priority (the least recently fed first). So a queue holds a few messages whatever the
size of the tasks behind it, and an urgent link waits for one free slot, not for a bulk
import to drain.

Feeding runs when a task is created, retried or cancelled, when a worker ends a stage
(a slot frees up, and the item may wait at its next stage), and every minute from the
reconciler (the safety net: a feed that failed, Redis lost, a crashed process). A
worker skips its feed while a quarter of the caps are still ``queued`` at the stage and
no high-priority item waits (:func:`stocked`; the finish's own statement counts both,
:func:`hand_off`): the queue is refilled in batches, not by one feed per finished item,
each of which would queue for the lock.
Feeders of one queue take turns under a PostgreSQL advisory lock (SQLite: its write
lock). On PostgreSQL nobody queues for it: a feeder counts its request (a sequence
per stage, :func:`_ask`) and leaves when another holds the lock, and the holder feeds
again while requests came during its feed; one feed serves them all, and no worker
thread waits for another's. Items are claimed with ``FOR UPDATE SKIP LOCKED`` and
marked ``queued`` in the same transaction, and their messages are sent after it
commits. An item is fed once: only a ``pending`` item is claimed, and claiming makes it
``queued``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dramatiq
from peewee import Database, PostgresqlDatabase, fn

from shared.db import database, is_postgres, locked, try_transaction_lock
from shared.feed_limits import FeedLimits, stocked
from shared.items.rules import HandOff
from shared.models import StageRun, Status, Task, TaskItem, utcnow
from shared.pipeline import BY_NAME, STAGE_NAMES, Stage, get_stage
from shared.redis_broker import to_front
from shared.urgency import URGENT_OPTION

logger = logging.getLogger(__name__)

#: An arbitrary constant: the first key of the advisory locks of feeders (one per stage).
FEED_LOCK_ID = 7_463_202
#: Statuses of an item whose message is in a queue (or being run) at its stage.
IN_FLIGHT = (Status.QUEUED.value, Status.RUNNING.value)


@dataclass(frozen=True)
class Candidate:
    """A task with items waiting at a stage, as the allocation sees it."""

    task_id: int
    rank: int
    fed_at: datetime | None
    in_flight: int
    waiting: int


def allocate(candidates: Iterable[Candidate], free: int, task_cap: int) -> dict[int, int]:
    """Share ``free`` slots: by rank, then one at a time round-robin, least recently fed first.

    No task gets beyond ``task_cap`` in flight or more than it has waiting. Return the
    slots per task id (tasks that get none are left out).
    """
    shares: dict[int, int] = {}
    pool = list(candidates)
    for rank in sorted({candidate.rank for candidate in pool}):
        group = sorted(
            (candidate for candidate in pool if candidate.rank == rank),
            # Never fed first, then the longest ago; ids break ties in creation order.
            key=lambda c: (c.fed_at is not None, c.fed_at or datetime.min, c.task_id),
        )
        room = {c.task_id: max(0, min(task_cap - c.in_flight, c.waiting)) for c in group}
        while free > 0 and any(room.values()):
            for candidate in group:
                if free == 0:
                    break
                if room[candidate.task_id]:
                    room[candidate.task_id] -= 1
                    shares[candidate.task_id] = shares.get(candidate.task_id, 0) + 1
                    free -= 1
        if free == 0:
            break
    return shares


def in_flight(stage: str) -> dict[int, int]:
    """Return per task id its items queued or running at ``stage``."""
    rows: Any = (
        TaskItem.select(TaskItem.task, fn.COUNT(TaskItem.id))
        .where((TaskItem.stage == stage) & TaskItem.status.in_(IN_FLIGHT))
        .group_by(TaskItem.task)
        .tuples()
    )
    return dict(rows)


def _waiting(task_id: int, stage: str, at_most: int) -> int:
    """Count a task's items waiting at ``stage``, stopping at ``at_most`` (a bounded scan)."""
    if at_most <= 0:
        return 0
    ids = (
        TaskItem.select(TaskItem.id)
        .where(
            (TaskItem.task == task_id)
            & (TaskItem.stage == stage)
            & (TaskItem.status == Status.PENDING.value)
        )
        .limit(at_most)
    )
    return int(ids.count())


def _candidates(
    stage: str, flying: dict[int, int], task_cap: int, now: datetime
) -> list[Candidate]:
    waiting_here = TaskItem.select(TaskItem.id).where(
        (TaskItem.task == Task.id)
        & (TaskItem.stage == stage)
        & (TaskItem.status == Status.PENDING.value)
    )
    tasks = Task.select(Task.id, Task.feed_rank, Task.fed_at).where(
        Task.finished_at.is_null()
        & (Task.status != Status.CANCELLED.value)
        # A task scheduled for later waits until its time (``run_at``).
        & (Task.run_at.is_null() | (Task.run_at <= now))
        & fn.EXISTS(waiting_here)
    )
    candidates = []
    for task in tasks:
        own = flying.get(task.id, 0)
        waiting = _waiting(task.id, stage, task_cap - own)
        if waiting:
            candidates.append(Candidate(task.id, task.feed_rank, task.fed_at, own, waiting))
    return candidates


def _claim(task_id: int, stage: str, count: int) -> list[int]:
    query = (
        TaskItem.select(TaskItem.id)
        .where(
            (TaskItem.task == task_id)
            & (TaskItem.stage == stage)
            & (TaskItem.status == Status.PENDING.value)
        )
        .order_by(TaskItem.id)
        .limit(count)
    )
    # Rows another transaction holds (a cancel, a worker) are skipped, never waited for.
    return [item.id for item in locked(query, skip_locked=True)]


def _mark_fed(stage: str, task_ids: Sequence[int], item_ids: list[int], now: datetime) -> None:
    # Task rows first and in id order: two feeders (or a cancel) never deadlock.
    list(locked(Task.select(Task.id).where(Task.id.in_(task_ids)).order_by(Task.id)))
    Task.update(fed_at=now).where(Task.id.in_(task_ids)).execute()
    Task.update(status=Status.QUEUED.value, updated_at=now).where(
        Task.id.in_(task_ids) & (Task.status == Status.PENDING.value)
    ).execute()
    if not item_ids:
        return
    TaskItem.update(status=Status.QUEUED.value, updated_at=now).where(
        TaskItem.id.in_(item_ids)
    ).execute()
    StageRun.insert_many(
        [
            {"item": item_id, "stage": stage, "status": Status.QUEUED.value, "queued_at": now}
            for item_id in item_ids
        ]
    ).on_conflict(
        conflict_target=[StageRun.item, StageRun.stage],
        update={
            StageRun.status: Status.QUEUED.value,
            StageRun.queued_at: now,
            StageRun.finished_at: None,
        },
    ).execute()


@dataclass
class _Fed:
    """The items one feed claimed at one stage, sent once the claim has committed."""

    stage: Stage
    item_ids: list[int]
    urgent: set[int]
    pausing: set[int]


def item_message(stage: Stage, item_id: int, *, urgent: bool = False) -> dramatiq.Message[Any]:
    """Build the message that runs ``stage`` for one task item, by name.

    ``urgent`` marks a high-priority item's message: bulk work of the worker process
    that runs it pauses at its checkpoints meanwhile (``shared.urgency``).
    """
    options: dict[str, Any] = {URGENT_OPTION: True} if urgent else {}
    return dramatiq.Message(
        queue_name=stage.queue,
        actor_name=stage.actor_name,
        args=(item_id,),
        kwargs={},
        options=options,
    )


#: Feeds one feeder makes in a row for the requests others counted meanwhile; past it,
#: the next finished item's feed (or the reconciler's, every minute) takes over.
MAX_FEED_ROUNDS = 20


def _claim_for(stage: Stage, limits: FeedLimits, now: datetime) -> _Fed | None:
    """Claim the items a stage's free slots take, on SQLite (its write lock is the lock)."""
    with database.atomic():
        return _claim_locked(stage, limits, now)


def _claim_in_turn(stage: Stage, limits: FeedLimits, clock: Callable[[], datetime]) -> list[_Fed]:
    """Claim a stage's items, or leave it to the feeder that holds the lock (PostgreSQL).

    Every feeder counts its request first. One that finds the lock taken leaves: the
    holder read the count as it took the lock, and feeds again when the count has moved
    by the time its feed has committed (the later requests' items may not have been
    visible to its reads). So no request is lost and no thread waits for the lock.
    """
    _ask(stage)
    fed: list[_Fed] = []
    for _ in range(MAX_FEED_ROUNDS):
        with database.atomic():
            if not try_transaction_lock(*_feed_lock(stage)):
                return fed
            asked = _asked(stage)
            claim = _claim_locked(stage, limits, clock())
        if claim is not None:
            fed.append(claim)
        if _asked(stage) == asked:
            break
    return fed


def _requests(stage_name: str) -> str:
    """Return the name of the sequence counting the feed requests of a stage."""
    return f"feed_requests_{stage_name}"


def _ask(stage: Stage) -> None:
    # A sequence is not transactional: the count is seen by every session at once.
    database.execute_sql("SELECT nextval(%s)", (_requests(stage.name),))


def _asked(stage: Stage) -> int:
    cursor = database.execute_sql(f"SELECT last_value FROM {_requests(stage.name)}")
    return int(cursor.fetchone()[0])


def install_request_counters(db: Database) -> None:
    """Create each stage's counter of feed requests on PostgreSQL (migration 13)."""
    if isinstance(db, PostgresqlDatabase):
        for name in STAGE_NAMES:
            db.execute_sql(f"CREATE SEQUENCE IF NOT EXISTS {_requests(name)}")


def _feed_lock(stage: Stage) -> tuple[int, int]:
    """Return the key of the advisory lock a stage's feeders take turns with."""
    return FEED_LOCK_ID, STAGE_NAMES.index(stage.name)


def _claim_locked(stage: Stage, limits: FeedLimits, now: datetime) -> _Fed | None:
    """Claim the items a stage's free slots take, marked ``queued``; the lock is held."""
    flying = in_flight(stage.name)
    free = limits.queue - sum(flying.values())
    if free <= 0:
        return None
    candidates = _candidates(stage.name, flying, limits.task, now)
    shares = allocate(candidates, free, limits.task)
    if not shares:
        return None
    task_ids = sorted(shares)
    ranks = {candidate.task_id: candidate.rank for candidate in candidates}
    item_ids: list[int] = []
    urgent: set[int] = set()
    for task_id in task_ids:
        claimed = _claim(task_id, stage.name, shares[task_id])
        item_ids += claimed
        if ranks.get(task_id) == 0:
            urgent.update(claimed)
    _mark_fed(stage.name, task_ids, item_ids, now)
    # Bulk work pauses for explicitly high-priority items only, not for small tasks
    # promoted to rank 0: a stream of those must not stall an import.
    return _Fed(stage, item_ids, urgent, _high_priority_items(urgent, task_ids))


def _send(broker: dramatiq.Broker, fed: Sequence[_Fed]) -> int:
    """Send the claimed items' messages, an urgent one to the head of its queue."""
    for claim in fed:
        for item_id in claim.item_ids:
            message = item_message(claim.stage, item_id, urgent=item_id in claim.pausing)
            sent = broker.enqueue(message)
            if item_id in claim.urgent:
                to_front(broker, sent)
    return sum(len(claim.item_ids) for claim in fed)


def feed_all(
    broker: dramatiq.Broker,
    limits: FeedLimits,
    stages: Iterable[str] = STAGE_NAMES,
    *,
    clock: Callable[[], datetime] = utcnow,
    now: datetime | None = None,
) -> int:
    """Top up the queues of ``stages`` (every stage by default); return how many were fed.

    Each stage's items are claimed in a transaction of its own (under its feeders'
    lock); the messages of all are sent after those have committed, so a worker that
    takes one finds its item queued.
    """
    at = now or clock()
    postgres = is_postgres()
    fed: list[_Fed] = []
    try:
        for name in dict.fromkeys(stages):
            stage = BY_NAME[name]
            if postgres:  # feeders take turns instead of queueing for the lock
                fed += _claim_in_turn(stage, limits, lambda: now or clock())
                continue
            claim = _claim_for(stage, limits, at)
            if claim is not None:
                fed.append(claim)
    finally:  # what was claimed is sent, even if a later stage's claim failed
        sent = _send(broker, fed)
    return sent


def feed(
    broker: dramatiq.Broker,
    stage_name: str,
    limits: FeedLimits,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Top up ``stage_name``'s queue with waiting items, within the caps; return how many."""
    return feed_all(broker, limits, [get_stage(stage_name).name], clock=clock)


def _high_priority_items(urgent: set[int], task_ids: Sequence[int]) -> set[int]:
    """Return those of ``urgent`` (rank 0) items whose task asked for ``high`` priority."""
    if not urgent:
        return set()
    high = Task.select(Task.id).where(Task.id.in_(list(task_ids)) & (Task.priority == "high"))
    rows = TaskItem.select(TaskItem.id).where(
        TaskItem.id.in_(list(urgent)) & TaskItem.task.in_(high)
    )
    return {row.id for row in rows}


def hand_off(broker: dramatiq.Broker, handoff: HandOff, limits: FeedLimits) -> int:
    """Top up the queues a finished stage may have left short: the one it frees, the next.

    A stage whose stock the finish counted, and found well stocked, is skipped: the
    queue is refilled in batches, not by one feed per finished item.
    """
    stages = (handoff.stage, handoff.following)
    short = [name for name in stages if name and not stocked(handoff.stock.get(name), limits)]
    return feed_all(broker, limits, short, now=handoff.at) if short else 0
