"""The RQ system's task-service calls, as thin aliases over :class:`TaskService`.

Code written for ``app.services.background_task_service`` runs with its import changed
(docs/guide/migrating.md). Each item waits in the database at its task's first stage and
is fed to its queue within the caps (``shared.feeding``), tracked and retried as any.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import dramatiq

from shared import items
from shared.broker import build_broker
from shared.db import bind_database, database, locked
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.feed_limits import FeedLimits
from shared.feeding import feed
from shared.models import Link, Status, Task, TaskItem
from shared.pipeline import STAGES, TASK_TYPES, Stage
from shared.settings import Settings, get_settings
from shared.tasks import TaskService

logger = logging.getLogger(__name__)

#: Job functions a task item runs, by name: each stage's actor, its module path, and
#: the original guide's job path.
STAGE_JOBS: dict[str, Stage] = {
    **{stage.actor_name: stage for stage in STAGES},
    **{f"services.{stage.service}.actors.{stage.actor_name}": stage for stage in STAGES},
    "app.workers.parsing_worker.parse_content_job": STAGES[0],
}
#: Housekeeping actors (``services/scheduler``) taking no argument, sent by name.
HOUSEKEEPING_JOBS = ("reconcile_items", "poll_due_feeds", "run_recurring_jobs", "cleanup_old")
#: The original's queue names and the stage each runs (``pipeline``: a task type's first).
QUEUE_STAGES: dict[str, Stage | None] = {s.queue: s for s in STAGES}
QUEUE_STAGES |= {"default": None, "pipeline": None}


def _unknown(field: str, name: object, known: Iterable[str]) -> InvalidRequest:
    return InvalidRequest(field, f"unknown {field} {name!r}; known: {', '.join(known)}")


def _job_stage(queue_name: str | None, job_func: str | None) -> Stage | None:
    """Return the stage ``job_func`` (or else ``queue_name``) runs; None for housekeeping."""
    if queue_name is not None and queue_name not in QUEUE_STAGES:
        raise _unknown("queue_name", queue_name, QUEUE_STAGES)
    if job_func is None:
        return QUEUE_STAGES.get(queue_name or "pipeline")
    if job_func not in STAGE_JOBS and job_func not in HOUSEKEEPING_JOBS:
        raise _unknown("job_func", job_func, [*STAGE_JOBS, *HOUSEKEEPING_JOBS])
    stage = STAGE_JOBS.get(job_func)
    queue = stage.queue if stage else "default"
    if queue_name is not None and queue != queue_name:
        raise InvalidRequest("queue_name", f"{job_func} runs on queue {queue}, not {queue_name}")
    return stage


def _task(task_id: int, *, lock: bool = False) -> Task:
    query = Task.select().where(Task.id == task_id)
    task = (locked(query) if lock else query).first()
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task


class BackgroundTaskService:
    """The original service's calls; ``tasks`` is the :class:`TaskService` behind them."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def create_task(
        self,
        type: str,
        total_items: int,
        config: Mapping[str, Any] | None = None,
        queue_name: str | None = None,
    ) -> Task:
        """Create a task for ``total_items`` items to come; return its row (``task.id``).

        ``type`` picks the stages (``TASK_TYPES``), ``queue_name`` the first one's queue
        (``pipeline``: the type's first). The task ends once ``total_items`` items have.
        ``config`` is ignored: settings choose the extractor, AI provider and publisher.
        """
        if isinstance(total_items, bool) or not isinstance(total_items, int) or total_items < 1:
            raise InvalidRequest("total_items", "expected the positive number of items to come")
        if type not in TASK_TYPES:
            raise _unknown("type", type, TASK_TYPES)
        stages = list(TASK_TYPES[type])
        start = _job_stage(queue_name, None)
        if queue_name not in (None, "pipeline") and (start is None or start.name not in stages):
            raise InvalidRequest("queue_name", f"a {type} task runs {stages}, not {queue_name}")
        stages = stages[stages.index(start.name) :] if start else stages
        if config:
            logger.warning("task config %r ignored: settings choose how stages run", config)
        return Task.create(
            type=type,
            status=Status.PENDING,
            stages=stages,
            priority="normal",
            feed_rank=self.tasks.limits.rank("normal", total_items),
            total_items=total_items,
        )

    def create_task_item(self, task_id: int, item_id: int, item_type: str = "link") -> TaskItem:
        """Add link ``item_id`` to a task, waiting at its first stage; return the item.

        It is fed as any item is. A link already in the task gives its item back; more
        items than the task's ``total_items`` are refused.
        """
        if item_type != "link":
            raise InvalidRequest("item_type", f"only 'link' items exist, not {item_type!r}")
        with database.atomic():
            # The task's row lock serialises item creation against its declared total.
            task = _task(task_id, lock=True)
            item = TaskItem.get_or_none((TaskItem.task == task_id) & (TaskItem.link == item_id))
            if item is not None:
                return item
            if task.finished_at is not None or task.status == Status.CANCELLED:
                raise Conflict(f"task {task_id} is already {task.status}")
            if Link.get_or_none(Link.id == item_id) is None:
                raise InvalidRequest("item_id", f"no link with id {item_id}")
            if TaskItem.select().where(TaskItem.task == task_id).count() >= task.total_items:
                raise Conflict(f"task {task_id} already has its {task.total_items} items")
            return TaskItem.create(
                task=task_id, link=item_id, stage=task.stages[0], status=Status.PENDING
            )

    def enqueue_job(
        self, task_id: int, queue_name: str, job_func: str, link_id: int | None = None
    ) -> str:
        """Feed link ``link_id`` of a task to ``job_func``'s stage; return the item's id.

        The item is created if need be and its stage's queue fed now, within the caps (a
        full queue takes it once a slot frees). An item already fed, running or ended is
        not sent again: its id is returned. Housekeeping is sent by name (its message id).
        """
        stage = _job_stage(queue_name, job_func)
        if stage is None:
            message: dramatiq.Message[Any] = dramatiq.Message(queue_name, job_func, (), {}, {})
            return str(self.tasks.broker.enqueue(message).message_id)
        first = _task(task_id).stages[0]
        if stage.name != first:
            raise InvalidRequest("job_func", f"task {task_id}'s items start at stage {first}")
        if link_id is None:
            raise InvalidRequest("link_id", f"{job_func} needs the link_id it runs for")
        item = self.create_task_item(task_id=task_id, item_id=link_id)
        feed(self.tasks.broker, stage.name, self.tasks.limits)
        items.current().mark_queued(task_id)
        return str(item.id)

    def get_task_status(self, task_id: int) -> dict[str, Any]:
        """Return a task's status: ``progress``, ``completed_items``, ``total_items``, …."""
        return self.tasks.get_task(task_id)

    def retry_failed_items(
        self, task_id: int, queue_name: str | None = None, job_func: str | None = None
    ) -> int:
        """Re-run a task's failed items, each from its failed stage; return how many.

        ``queue_name`` and ``job_func`` are checked but choose nothing.
        """
        stage = _job_stage(queue_name, job_func)
        if stage is not None and stage.name not in _task(task_id).stages:
            raise InvalidRequest("job_func", f"task {task_id} does not run {stage.name}")
        try:
            return int(self.tasks.retry(task_id)["retried_items"])
        except Conflict:  # no failed items: nothing to retry
            return 0


_cached: tuple[Settings, BackgroundTaskService] | None = None  # the default service
_lock = threading.Lock()


def get_background_task_service(
    settings: Settings | None = None, *, broker: dramatiq.Broker | None = None
) -> BackgroundTaskService:
    """Return the service for ``settings`` (the process's by default), built once.

    It binds the database unless the process did, and sends through ``broker`` (by
    default a Redis broker of ``REDIS_URL`` with the project's middleware).
    """
    global _cached
    chosen = settings or get_settings()
    with _lock:
        if broker is None and _cached is not None and _cached[0] is chosen:
            return _cached[1]
        if database.obj is None:
            bind_database(chosen.database_url)
        limits = FeedLimits.from_settings(chosen)
        service = BackgroundTaskService(TaskService(broker or build_broker(chosen), limits=limits))
        if broker is None:
            _cached = (chosen, service)
        return service
