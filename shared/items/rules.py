"""The rules of an item's life, once, in Python: every backend applies what these decide.

An item of a task runs the task's stages in order (:func:`next_stage`). A stage's
message is delivered, the item's stage starts (:func:`decide_start`), the stage ends
(:func:`after_stage`) or fails; an item ends once, in a terminal status, and its task
ends when every item has (:func:`rolled_up`). A backend (``shared.items.postgres``,
``shared.items.sqlite``) reads an item's :class:`ItemState`, asks these functions what
to do, and writes the answer only if the item is still as it read it; otherwise it
reads again. No rule is written a second time in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from shared.models import TERMINAL, Status

#: An item's or a stage run's error is clipped to this many characters.
MAX_ERROR_LENGTH = 2000
#: Statuses of a stage run a delivered message may start.
STARTABLE = (Status.PENDING, Status.QUEUED)


def clip(error: str) -> str:
    """Return ``error`` cut to :data:`MAX_ERROR_LENGTH` characters."""
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


def sql_list(statuses: tuple[Status, ...]) -> str:
    """Return statuses as an SQL list literal, e.g. ``('completed', 'failed')``."""
    return "(" + ", ".join(f"'{status.value}'" for status in statuses) + ")"


def next_stage(stages: Sequence[str], current: str) -> str | None:
    """Return the stage after ``current`` in a task's ``stages``, or ``None`` at the end."""
    position = list(stages).index(current)
    return stages[position + 1] if position + 1 < len(stages) else None


@dataclass(frozen=True)
class Stock:
    """What waits in a stage's queue, as a finish saw it: whether a feed can wait."""

    #: Items ``queued`` at the stage whose messages wait in its queue (not those whose
    #: retry is delayed).
    queued: int
    #: Whether an item of a rank-0 task waits (``pending``) to be fed at the stage.
    urgent: bool


@dataclass(frozen=True)
class HandOff:
    """A finished stage: where the item waits now, and what the stages' queues hold."""

    #: The stage that ended.
    stage: str
    #: The stage the item now waits at (to be fed), or ``None`` when it ended.
    following: str | None
    #: When the stage ended.
    at: datetime
    #: Per stage (the one that ended and ``following``): its stock, where the backend
    #: counts it; a stage missing here is fed without looking.
    stock: dict[str, Stock] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemState:
    """What the rules need to know of one item at one stage, read in one query."""

    item_id: int
    task_id: int
    link_id: int
    status: str
    task_status: str
    stages: tuple[str, ...]
    #: The stage's run: ``None`` when the item never reached the stage.
    run_status: str | None
    run_attempts: int
    run_worker: str | None
    run_started_at: datetime | None

    @classmethod
    def of(cls, item_id: int, row: Sequence[Any]) -> ItemState:
        """Return the state a backend read as one row.

        ``row``: task id, link id, item status, task status, the task's stages, and the
        stage run's status, attempts, worker and start (None where there is no run).
        """
        task_id, link_id, status, task_status, stages, run_status, attempts, worker, started = row
        return cls(
            item_id,
            task_id,
            link_id,
            status,
            task_status,
            tuple(stages),
            run_status,
            attempts or 0,
            worker,
            started,
        )


@dataclass(frozen=True)
class TaskCounts:
    """A task's status and counters, as they were when an item's end was counted."""

    task_id: int
    status: str
    total: int
    completed: int
    failed: int
    cancelled: int
    finished: bool

    @property
    def done(self) -> bool:
        """Tell whether every item has ended and the task is not yet finished."""
        return not self.finished and self.completed + self.failed + self.cancelled >= self.total


class Start(Enum):
    """What a delivered stage message does."""

    RUN = "run"
    SKIP = "skip"
    #: The task was cancelled: the item ends cancelled.
    CANCEL = "cancel"
    #: The poison guard: the stage was delivered too often and never finished.
    GIVE_UP = "give up"


@dataclass(frozen=True)
class StartDecision:
    """Whether a delivered stage message should run, and why not if it should not."""

    run: bool
    reason: str = ""
    attempt: int = 0
    #: The item as read when it started: its finish writes from it without reading again.
    state: ItemState | None = None


@dataclass(frozen=True)
class Verdict:
    """A start rule's answer: what to do, and the reason when it is not to run."""

    action: Start
    reason: str = ""


def decide_start(
    state: ItemState | None,
    item_id: int,
    stage: str,
    *,
    now: datetime,
    lease_seconds: float | None,
    max_deliveries: int | None,
    worker_alive: Callable[[str], bool] | None,
) -> Verdict:
    """Decide whether a delivered message of ``stage`` runs.

    A message is skipped when its item is finished, when the stage already completed (a
    duplicate delivery), or when another worker runs the stage: its worker process still
    sends heartbeats (``worker_alive``), or, when the worker is unknown, it started less
    than ``lease_seconds`` ago (its time limit: a live worker ends or fails by then). A
    stage whose worker died is taken over at once. A cancelled task's item ends
    cancelled. Past ``max_deliveries`` starts of one stage the item fails: a page that
    kills its worker must not loop forever.
    """
    if state is None:
        return Verdict(Start.SKIP, f"item {item_id} does not exist")
    if state.status in TERMINAL:
        return Verdict(Start.SKIP, f"item {item_id} is already {state.status}")
    if state.task_status == Status.CANCELLED:
        return Verdict(Start.CANCEL, f"task {state.task_id} was cancelled")
    if state.run_status == Status.COMPLETED:
        return Verdict(Start.SKIP, f"stage {stage} of item {item_id} is already done")
    if state.run_status == Status.RUNNING and _running_elsewhere(
        state, now, lease_seconds, worker_alive
    ):
        return Verdict(Start.SKIP, f"stage {stage} of item {item_id} is running elsewhere")
    if max_deliveries is not None and state.run_attempts >= max_deliveries:
        return Verdict(Start.GIVE_UP, give_up_error(state.run_attempts))
    return Verdict(Start.RUN)


def give_up_error(deliveries: int) -> str:
    """Return the error of an item the poison guard failed."""
    return f"gave up after {deliveries} deliveries (the stage never finished)"


def _running_elsewhere(
    state: ItemState,
    now: datetime,
    lease_seconds: float | None,
    worker_alive: Callable[[str], bool] | None,
) -> bool:
    if state.run_worker and worker_alive is not None:
        return worker_alive(state.run_worker)
    if lease_seconds is None or state.run_started_at is None:
        return False
    return (now - state.run_started_at).total_seconds() < lease_seconds


def after_stage(state: ItemState, stage: str) -> tuple[Status, str]:
    """Return the status and stage of an item whose ``stage`` just succeeded.

    The item waits (``pending``) at the next stage of its task until a feed gives it a
    slot; after the last stage it is completed; a cancelled task's item ends cancelled.
    """
    if state.task_status == Status.CANCELLED:
        return Status.CANCELLED, stage
    following = next_stage(state.stages, stage)
    if following is None:
        return Status.COMPLETED, stage
    return Status.PENDING, following


def rolled_up(counts: TaskCounts) -> Status:
    """Return the status a task ends in once every item has ended."""
    if counts.status == Status.CANCELLED:
        return Status.CANCELLED
    if counts.failed > 0:
        return Status.FAILED
    return Status.COMPLETED


#: Which task counter an item's terminal status adds to.
COUNTER: dict[Status, str] = {
    Status.COMPLETED: "completed_items",
    Status.FAILED: "failed_items",
    Status.CANCELLED: "cancelled_items",
}
