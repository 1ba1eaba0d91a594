"""Recurring jobs' state and work: when each last ran, and what the built-in jobs do.

The scheduler decides when a job is due (``services/scheduler/recurring.py``) and claims
the run here: the row of the job's kind moves from its last scheduled time to the new one
in one conditional update, so two schedulers run a scheduled time once. The jobs:
``republish_failed`` makes a publish-only task of the links whose latest publish failed;
``export`` asks the notion service (which has the Markdown renderer) for an export.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dramatiq
from peewee import fn

from shared.db import database
from shared.models import RecurringRun, Status, TaskItem, utcnow
from shared.tasks import TaskService

#: The notion service's export actor, sent by name.
EXPORT_ACTOR = "export_knowledge_base"
EXPORT_QUEUE = "notion"


def last_run(kind: str) -> datetime | None:
    """Return the scheduled time the job last ran for, or None if it never did."""
    row = RecurringRun.get_or_none(RecurringRun.kind == kind)
    return None if row is None else row.last_run_at


def start_tracking(kind: str, since: datetime) -> None:
    """Record a new job's start: it first runs at its next scheduled time after ``since``."""
    with database.atomic():
        if RecurringRun.get_or_none(RecurringRun.kind == kind) is None:
            RecurringRun.create(kind=kind, last_run_at=since, updated_at=utcnow())


def claim_run(kind: str, previous: datetime, scheduled: datetime) -> bool:
    """Move the job's last run from ``previous`` to ``scheduled``; tell whether we did."""
    moved = (
        RecurringRun.update(last_run_at=scheduled, updated_at=utcnow())
        .where((RecurringRun.kind == kind) & (RecurringRun.last_run_at == previous))
        .execute()
    )
    return bool(moved)


def record_outcome(kind: str, outcome: str) -> None:
    """Keep what the job's last run did, for ``kbm`` and the API."""
    RecurringRun.update(outcome=outcome[:500], updated_at=utcnow()).where(
        RecurringRun.kind == kind
    ).execute()


def links_to_republish() -> list[int]:
    """Return the links whose latest task item ended failed at the publish stage."""
    latest = TaskItem.select(fn.MAX(TaskItem.id)).group_by(TaskItem.link)
    rows: Any = (
        TaskItem.select(TaskItem.link)
        .where(
            TaskItem.id.in_(latest)
            & (TaskItem.status == Status.FAILED.value)
            & (TaskItem.stage == "publish")
        )
        .order_by(TaskItem.link)
        .tuples()
    )
    return [int(row[0]) for row in rows]


def republish_failed(tasks: TaskService) -> list[int]:
    """Create publish-only tasks (of at most ``max_urls`` links) for failed publishes."""
    link_ids = links_to_republish()
    created = []
    for start in range(0, len(link_ids), tasks.max_urls):
        chunk = link_ids[start : start + tasks.max_urls]
        created.append(
            int(
                tasks.create_task(
                    link_ids=chunk, stages=["publish"], task_type="notion", source="recurring"
                )["task_id"]
            )
        )
    return created


def request_export(broker: dramatiq.Broker, stamp: str) -> None:
    """Ask the notion service for an export named ``stamp``."""
    broker.enqueue(
        dramatiq.Message(
            queue_name=EXPORT_QUEUE, actor_name=EXPORT_ACTOR, args=(stamp,), kwargs={}, options={}
        )
    )
