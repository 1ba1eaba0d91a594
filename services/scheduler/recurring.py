"""Recurring jobs from settings: which are due, caught up once after the scheduler was down.

``RECURRING_JOBS`` lists jobs as ``kind=cron`` pairs separated by ``;``, for example
``republish_failed=0 3 * * *; export=30 3 * * *``. The cron expressions are read in
``SCHEDULER_TZ`` (an IANA zone, default UTC); every time is stored in UTC. A job is due
when its latest scheduled time is later than its last run: however many ticks were
missed, it runs once, for the latest time only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dramatiq
from croniter import croniter

from shared import recurring
from shared.errors import ConfigurationError
from shared.tasks import TaskService

UTC_ZONE = ZoneInfo("UTC")

#: What a recurring job can do.
JOB_KINDS = {
    "republish_failed": "publish again the links whose publish stage failed",
    "export": "export the knowledge base to EXPORT_DIR as JSON and Markdown",
}


@dataclass(frozen=True)
class RecurringJob:
    """One job of ``RECURRING_JOBS``."""

    kind: str
    cron: str

    def latest_time(self, now: datetime, zone: ZoneInfo) -> datetime:
        """Return the latest scheduled time at or before ``now``, in UTC."""
        local = now.astimezone(zone)
        if croniter.match(self.cron, local.replace(second=0, microsecond=0)):
            return local.replace(second=0, microsecond=0).astimezone(UTC)
        previous: datetime = croniter(self.cron, local).get_prev(datetime)
        return previous.astimezone(UTC)

    def due(self, now: datetime, last_run: datetime | None, zone: ZoneInfo) -> datetime | None:
        """Return the scheduled time to run for now, or None when it already ran.

        A job that never ran is not due: its first run is at its next scheduled time
        (the caller records :meth:`latest_time` as its start), not at the first tick.
        """
        latest = self.latest_time(now, zone)
        if last_run is None or latest <= last_run:
            return None
        return latest


@dataclass(frozen=True)
class Schedule:
    """The recurring jobs and the zone their cron expressions are read in."""

    jobs: tuple[RecurringJob, ...] = ()
    zone: ZoneInfo = UTC_ZONE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Schedule:
        """Read ``RECURRING_JOBS`` and ``SCHEDULER_TZ``; name the variable of a bad value."""
        env = os.environ if environ is None else environ
        return cls(
            jobs=parse_jobs(env.get("RECURRING_JOBS", "")),
            zone=parse_zone(env.get("SCHEDULER_TZ", "") or "UTC"),
        )


def parse_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name``; raise a ConfigurationError naming SCHEDULER_TZ."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as ex:
        raise ConfigurationError(
            f"SCHEDULER_TZ: expected an IANA time zone such as Europe/Paris (got {name!r})"
        ) from ex


def parse_jobs(text: str) -> tuple[RecurringJob, ...]:
    """Parse ``kind=cron; kind=cron``; raise a ConfigurationError naming RECURRING_JOBS."""
    jobs: dict[str, RecurringJob] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        kind, separator, cron = part.partition("=")
        kind, cron = kind.strip(), " ".join(cron.split())
        if not separator or not kind:
            raise ConfigurationError(f"RECURRING_JOBS: expected kind=cron, got {part.strip()!r}")
        if kind not in JOB_KINDS:
            known = ", ".join(sorted(JOB_KINDS))
            raise ConfigurationError(f"RECURRING_JOBS: unknown job {kind!r} (known: {known})")
        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise ConfigurationError(
                f"RECURRING_JOBS: {kind}: {cron!r} is not a cron expression of five fields"
            )
        if kind in jobs:
            raise ConfigurationError(f"RECURRING_JOBS: {kind} is listed twice")
        jobs[kind] = RecurringJob(kind, cron)
    return tuple(jobs.values())


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
