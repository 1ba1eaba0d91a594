"""The scheduler's recurring jobs: run those that are due, each scheduled time once.

What the jobs are and when they are due is :mod:`shared.schedule` (read from
``RECURRING_JOBS`` and ``SCHEDULER_TZ`` by the settings); what they do and the record of
their runs is :mod:`shared.recurring`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dramatiq

from shared import recurring
from shared.schedule import RecurringJob, Schedule
from shared.tasks import TaskService


def run_due_jobs(
    schedule: Schedule, now: datetime, broker: dramatiq.Broker, tasks: TaskService
) -> list[tuple[RecurringJob, datetime, str]]:
    """Run the jobs due at ``now``; return (job, scheduled time, outcome) of those run.

    A job seen for the first time starts being tracked (its first run is at its next
    time). Each scheduled time runs once, however many schedulers call this: the run is
    claimed in the database before it is done.
    """
    ran = []
    for job in schedule.jobs:
        previous = recurring.last_run(job.kind)
        if previous is None:
            recurring.start_tracking(job.kind, _naive(job.latest_time(now, schedule.zone)))
            continue
        due = job.due(now, previous.replace(tzinfo=UTC), schedule.zone)
        if due is None or not recurring.claim_run(job.kind, previous, _naive(due)):
            continue
        if job.kind == "republish_failed":
            created = recurring.republish_failed(tasks)
            outcome = f"{len(created)} publish tasks created" if created else "nothing to publish"
        else:
            stamp = due.strftime("%Y%m%dT%H%MZ")
            recurring.request_export(broker, stamp)
            outcome = f"export {stamp} requested"
        recurring.record_outcome(job.kind, outcome)
        ran.append((job, due, outcome))
    return ran


def _naive(moment: datetime) -> datetime:
    """Return a UTC time as the naive datetime the columns store."""
    return moment.astimezone(UTC).replace(tzinfo=None)
