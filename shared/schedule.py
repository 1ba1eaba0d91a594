"""Recurring jobs as settings give them: which kinds, on which cron, in which zone.

``RECURRING_JOBS`` lists jobs as ``kind=cron`` pairs separated by ``;``, for example
``republish_failed=0 3 * * *; export=30 3 * * *``. The cron expressions are read in
``SCHEDULER_TZ`` (an IANA zone, default UTC); every time is stored in UTC. A job is due
when its latest scheduled time is later than its last run: however many ticks were
missed, it runs once, for the latest time only. The settings object checks both values
at start-up (``shared.settings``); the scheduler runs the jobs
(``services/scheduler/recurring.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

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
    def parse(cls, jobs: str, zone: str) -> Schedule:
        """Return the schedule of ``RECURRING_JOBS`` and ``SCHEDULER_TZ`` values."""
        return cls(jobs=parse_jobs(jobs), zone=parse_zone(zone or "UTC"))


def parse_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name``; raise ``ValueError`` saying what is expected."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as ex:
        raise ValueError("expected an IANA time zone such as Europe/Paris") from ex


def parse_jobs(text: str) -> tuple[RecurringJob, ...]:
    """Parse ``kind=cron; kind=cron``; raise ``ValueError`` saying what is wrong."""
    jobs: dict[str, RecurringJob] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        kind, separator, cron = part.partition("=")
        kind, cron = kind.strip(), " ".join(cron.split())
        if not separator or not kind:
            raise ValueError(f"expected kind=cron, got {part.strip()!r}")
        if kind not in JOB_KINDS:
            known = ", ".join(sorted(JOB_KINDS))
            raise ValueError(f"unknown job {kind!r} (known: {known})")
        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise ValueError(f"{kind}: {cron!r} is not a cron expression of five fields")
        if kind in jobs:
            raise ValueError(f"{kind} is listed twice")
        jobs[kind] = RecurringJob(kind, cron)
    return tuple(jobs.values())
