"""The original RQ design, as the seed guide describes it: the queue benchmark's baseline.

One RQ job per item and stage on the stage's queue (``parsing``, ``ai``, ``notion``),
each run in a work horse forked for it, with the guide's time limits and retry
schedule. A job marks its task item running, does its (empty) work, then either
enqueues the next stage's job or marks the item completed and counts it on the task:
status rows updated per job, in the project's own tables. Submission creates the task,
one item row per link and one job per item, as the guide's ``create_task_item`` /
``enqueue_job`` loop does. ``python -m bench.rq_baseline QUEUE`` runs one worker.
"""

from __future__ import annotations

import os
import sys

import redis
from peewee import Case
from rq import Queue, Retry, Worker

from bench.harness import REDIS_URL
from shared.db import bind_database, database
from shared.models import Link, Task, TaskItem, utcnow

#: Stage → (queue, time limit in seconds) of the original system.
STAGES: dict[str, tuple[str, int]] = {
    "parse": ("parsing", 60),
    "enrich": ("ai", 120),
    "publish": ("notion", 60),
}
ORDER = list(STAGES)
#: The guide's retry schedule: immediately, after 30 s, after 5 minutes.
RETRY = Retry(max=3, interval=[0, 30, 300])


def connection() -> redis.Redis:
    """Return a client of the benchmark's Redis."""
    return redis.Redis.from_url(REDIS_URL)


def enqueue(client: redis.Redis, stage: str, item_id: int, task_id: int) -> None:
    """Enqueue the job that runs ``stage`` for one item."""
    queue, timeout = STAGES[stage]
    Queue(queue, connection=client).enqueue(
        run_stage, item_id, task_id, stage, job_timeout=timeout, retry=RETRY
    )


def submit(urls: list[str]) -> int:
    """Create a task with one item per URL and enqueue their first jobs; return its id."""
    client = connection()
    with database.connection_context():
        Link.insert_many([{"url": url, "normalized_url": url} for url in urls]).execute()
        links = Link.select(Link.id).where(Link.url.in_(urls))
        task = Task.create(type="pipeline", status="queued", stages=ORDER, total_items=len(urls))
        for link in links:
            item = TaskItem.create(task=task.id, link=link.id, stage=ORDER[0], status="queued")
            enqueue(client, ORDER[0], item.id, task.id)
    return int(task.id)


def run_stage(item_id: int, task_id: int, stage: str) -> None:
    """Run one stage of one item in a work horse, updating its rows as it goes."""
    try:
        with database.connection_context():
            TaskItem.update(
                status="running", stage=stage, attempts=TaskItem.attempts + 1, started_at=utcnow()
            ).where(TaskItem.id == item_id).execute()
            # The stage's work would be here.
            position = ORDER.index(stage)
            if position + 1 < len(ORDER):
                following = ORDER[position + 1]
                TaskItem.update(status="queued", stage=following).where(
                    TaskItem.id == item_id
                ).execute()
                enqueue(connection(), following, item_id, task_id)
                return
            TaskItem.update(status="completed", finished_at=utcnow()).where(
                TaskItem.id == item_id
            ).execute()
            done = Task.completed_items + 1
            Task.update(
                completed_items=done,
                status=Case(None, [(done >= Task.total_items, "completed")], Task.status),
                finished_at=Case(None, [(done >= Task.total_items, utcnow())], Task.finished_at),
            ).where(Task.id == task_id).execute()
    finally:
        # The horse exits when the job ends: close its connection rather than drop it.
        database.close_all()


def main(queue: str) -> None:
    """Run one RQ worker (a forking one, as the original) on ``queue``."""
    bind_database(os.environ["DATABASE_URL"])
    Worker([queue], connection=connection()).work(logging_level="WARNING")


if __name__ == "__main__":
    # Jobs name ``bench.rq_baseline.run_stage``: load that module (not this ``__main__``
    # copy) before forking, so each horse starts with it imported, as the original's did.
    from bench import rq_baseline

    rq_baseline.main(sys.argv[1])
