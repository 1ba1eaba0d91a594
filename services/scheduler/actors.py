"""Housekeeping actors on ``default`` and the periodiq tick that starts them.

``kbm scheduler`` runs periodiq, which sends :func:`tick` every minute. Two schedulers
may run by mistake (or for availability): the tick takes a per-minute lock in Redis, so
each minute's housekeeping runs once. Retries of periodic messages are skipped by
periodiq, so the tick only enqueues; the work is done by normal actors.

Every job here, the tick included, runs within ``DEFAULT_TIMEOUT`` (the ``default``
queue's time limit, read when the actors are declared, after the setup callable set the
settings); only ``ping``, ``kbm doctor``'s probe rather than a job, keeps a short one.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from periodiq import cron
from prometheus_client import Counter

from services.scheduler.cleanup import cleanup
from services.scheduler.recurring import run_due_jobs
from services.scheduler.tick import first_tick_this_minute
from shared import feeds
from shared.errors import NotFound
from shared.feed_limits import FeedLimits
from shared.middleware.tracking import worker_liveness
from shared.monitoring import RECONCILER_LAST_RUN, Monitor
from shared.pipeline import time_limit_ms
from shared.reconcile import Reconciler
from shared.settings import get_settings
from shared.tasks import WAKE_ACTOR, WAKE_QUEUE, TaskService

logger = logging.getLogger(__name__)


def _redis() -> Any:
    broker = dramatiq.get_broker()
    return broker.client if isinstance(broker, RedisBroker) else None


def _job_limit() -> int:
    """Return the time limit of a housekeeping job in ms: ``DEFAULT_TIMEOUT``."""
    return time_limit_ms("default", get_settings())


#: ``kbm doctor`` waits 10 s for its ping to be taken; the ping only logs, so a longer
#: limit could only let a stuck one hold a thread. A probe, not a job: no DEFAULT_TIMEOUT.
PING_TIME_LIMIT_MS = 10_000

TICKS = Counter(
    "kbm_scheduler_ticks", "Scheduler ticks: ran, or skipped (another ran).", ["outcome"]
)


@dramatiq.actor(
    queue_name="default", periodic=cron("* * * * *"), max_retries=0, time_limit=_job_limit()
)
def tick() -> None:
    """Start this minute's housekeeping, once however many schedulers run."""
    settings = get_settings()
    if not first_tick_this_minute(_redis(), settings.scheduler_lock_seconds):
        logger.info("tick: another scheduler already ticked this minute")
        TICKS.labels("skipped").inc()
        return
    TICKS.labels("ran").inc()
    reconcile_items.send()
    poll_due_feeds.send()
    run_recurring_jobs.send()
    if int(time.time() // 60) % 60 == 0:  # hourly
        cleanup_old.send()


def _queue_is_empty(queue: str) -> bool:
    client = _redis()
    if client is None:
        return False
    depths = Monitor(client).queue_depths()[queue]
    return depths["waiting"] + depths["delayed"] + depths["unacked"] == 0


@dramatiq.actor(queue_name="default", max_retries=0, time_limit=PING_TIME_LIMIT_MS)
def ping(marker: str) -> None:
    """Take ``kbm doctor``'s probe: a default worker is consuming its queue."""
    logger.info("ping %s", marker)


@dramatiq.actor(queue_name="default", max_retries=0, time_limit=_job_limit())
def reconcile_items() -> None:
    """Send again every item whose stage is overdue; finish finished tasks."""
    broker = dramatiq.get_broker()
    report = Reconciler(
        broker,
        get_settings(),
        queue_is_empty=_queue_is_empty,
        worker_alive=worker_liveness(broker),
    ).run()
    client = _redis()
    if client is not None:
        client.set(RECONCILER_LAST_RUN, f"{time.time():.3f}")
    logger.info(
        "reconcile: %d pending sent, %d running and %d queued sent again, "
        "%d counters fixed, %d tasks finished",
        report.pending_sent,
        report.running_resent,
        report.queued_resent,
        report.counters_fixed,
        report.tasks_finished,
    )


@dramatiq.actor(
    actor_name=WAKE_ACTOR, queue_name=WAKE_QUEUE, max_retries=3, time_limit=_job_limit()
)
def start_scheduled_task(task_id: int) -> None:
    """Start a task scheduled for later (``run_at``) when its time has come."""
    settings = get_settings()
    tasks = TaskService(dramatiq.get_broker(), limits=FeedLimits.from_settings(settings))
    try:
        started = tasks.start_task(task_id)
    except NotFound:
        logger.info("scheduled task %s no longer exists", task_id)
        return
    logger.info("scheduled task %s: %s", task_id, started["status"])


@dramatiq.actor(queue_name="default", max_retries=0, time_limit=_job_limit())
def poll_due_feeds() -> None:
    """Send a poll to the parser for every feed that is due (once each, however late)."""
    due = feeds.send_due_polls(dramatiq.get_broker())
    if due:
        logger.info("feeds: %d due, polls sent", len(due))


@dramatiq.actor(queue_name="default", max_retries=0, time_limit=_job_limit())
def run_recurring_jobs() -> None:
    """Run each job of ``RECURRING_JOBS`` whose scheduled time came (caught up once)."""
    settings = get_settings()
    broker = dramatiq.get_broker()
    tasks = TaskService(broker, limits=FeedLimits.from_settings(settings))
    for job, due, outcome in run_due_jobs(settings.schedule(), datetime.now(UTC), broker, tasks):
        logger.info("recurring job %s for %s: %s", job.kind, due.isoformat(), outcome)


@dramatiq.actor(queue_name="default", max_retries=0, time_limit=_job_limit())
def cleanup_old() -> None:
    """Remove finished tasks and dead letters past ``RETENTION_DAYS``."""
    cleanup(_redis(), get_settings().retention_days)
