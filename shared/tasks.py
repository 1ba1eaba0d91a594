"""The task service: create tasks for links, read their status, retry and cancel them.

The gateway's resources and scripts call this; it commits rows first and sends messages
after (a message never names a row that is not yet visible to the workers). Items are not
all sent at once: they wait in the database and are fed to the queues within the caps
of ``shared.feeding``, so a task of any size is one bounded request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
from dramatiq.errors import QueueNotFound

from shared import items
from shared.db import database, insert_rows, rows_where_in
from shared.errors import Conflict, InvalidRequest, NotFound, TooManyOpenTasks
from shared.feed_limits import PRIORITIES, FeedLimits
from shared.feeding import feed, feed_all
from shared.models import TERMINAL, Link, StageRun, Status, Task, TaskItem, utcnow
from shared.pipeline import TASK_TYPES, ordered_stages
from shared.urls import InvalidURL, normalize_url
from shared.views import iso, item_view, link_view, task_detail, task_summary

logger = logging.getLogger(__name__)

#: Rows per INSERT/SELECT … IN batch: well under every driver's parameter limit.
BATCH = 500
#: The housekeeping actor that starts a task scheduled for later, sent by name.
WAKE_ACTOR = "start_scheduled_task"
WAKE_QUEUE = "default"
#: How far ahead a task may be scheduled.
MAX_SCHEDULE_AHEAD = timedelta(days=366)


def parse_run_at(value: object, field: str = "run_at") -> datetime | None:
    """Return ``value`` (ISO 8601 with a zone, or an aware datetime) as naive UTC, or None.

    A time in the past means "now". A time without a zone is refused: it would be read
    in whichever zone the server runs in.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(
                field, f"expected an ISO 8601 time such as 2026-12-24T08:00:00Z, got {value!r}"
            ) from None
    elif isinstance(value, datetime):
        moment = value
    else:
        raise InvalidRequest(field, "expected an ISO 8601 time such as 2026-12-24T08:00:00Z")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidRequest(field, "needs a time zone (Z or an offset such as +01:00)")
    start = moment.astimezone(UTC).replace(tzinfo=None)
    now = utcnow()
    if start - now > MAX_SCHEDULE_AHEAD:
        raise InvalidRequest(field, "is more than a year ahead")
    return start if start > now else None


def _chunks(values: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


class TaskService:
    """Create, inspect, retry and cancel tasks."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        *,
        max_urls: int = 1000,
        max_open_tasks: int | None = None,
        limits: FeedLimits | None = None,
    ) -> None:
        self.broker = broker
        self.max_urls = max_urls
        self.max_open_tasks = max_open_tasks
        self.limits = limits or FeedLimits()

    # Links -------------------------------------------------------------------------

    def _normalise(self, urls: object, field: str = "urls") -> dict[str, str]:
        """Return normalised URL → URL as given, in submission order, deduplicated."""
        if not isinstance(urls, list) or not urls:
            raise InvalidRequest(field, "expected a non-empty list of URLs")
        if len(urls) > self.max_urls:
            raise InvalidRequest(field, f"at most {self.max_urls} URLs per request")
        wanted: dict[str, str] = {}
        for position, url in enumerate(urls):
            try:
                wanted.setdefault(normalize_url(url), str(url).strip())
            except InvalidURL as ex:
                raise InvalidRequest(f"{field}[{position}]", f"{ex}") from None
        return wanted

    def create_links(self, urls: object) -> list[Link]:
        """Create (or find, by normalised URL) links; return them in submission order."""
        ids = self._link_ids(urls)
        found: dict[int, Link] = {}
        for chunk in _chunks(ids):
            found.update({link.id: link for link in Link.select().where(Link.id.in_(chunk))})
        return [found[link_id] for link_id in ids]

    def _link_ids(self, urls: object) -> list[int]:
        """Create (or find) links for URLs; return their ids in submission order."""
        wanted = self._normalise(urls)
        now = utcnow()
        with database.atomic():
            insert_rows(
                Link._meta.table_name,
                ("url", "normalized_url", "status", "created_at", "updated_at"),
                [(url, key, "new", now, now) for key, url in wanted.items()],
                ignore_conflicts=True,
            )
            found = self._ids_by_key(list(wanted))
        return [found[key] for key in wanted]

    @staticmethod
    def _ids_by_key(keys: list[str]) -> dict[str, int]:
        query = Link.select(Link.normalized_url, Link.id).tuples()
        return dict(rows_where_in(query, Link.normalized_url, keys))

    def _existing_links(self, link_ids: object) -> list[int]:
        if not isinstance(link_ids, list) or not link_ids:
            raise InvalidRequest("link_ids", "expected a non-empty list of link ids")
        if len(link_ids) > self.max_urls:
            raise InvalidRequest("link_ids", f"at most {self.max_urls} ids per request")
        for position, value in enumerate(link_ids):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidRequest(f"link_ids[{position}]", "expected a positive integer")
        ids = list(dict.fromkeys(link_ids))
        found: set[int] = set()
        for chunk in _chunks(ids):
            found.update(link.id for link in Link.select(Link.id).where(Link.id.in_(chunk)))
        missing = [link_id for link_id in ids if link_id not in found]
        if missing:
            shown = ", ".join(str(link_id) for link_id in missing[:10])
            raise InvalidRequest("link_ids", f"no link with id {shown}")
        return ids

    def get_link(self, link_id: int) -> dict[str, Any]:
        """Return a link with everything the stages produced for it."""
        link = Link.get_or_none(Link.id == link_id)
        if link is None:
            raise NotFound(f"link {link_id} does not exist")
        return link_view(link)

    # Tasks -------------------------------------------------------------------------

    def create_task(self, **arguments: Any) -> dict[str, Any]:
        """Create a task (the arguments of :meth:`insert_task`) and start it.

        Answer ``{"task_id", "status", "total_items"}`` (and ``run_at`` when it starts
        later).
        """
        with database.atomic():
            task_id = self.insert_task(**arguments)
        return self.start_task(task_id)

    def insert_task(
        self,
        *,
        urls: object = None,
        link_ids: object = None,
        stages: object = None,
        task_type: str = "pipeline",
        owner: str | None = None,
        priority: str = "normal",
        run_at: object = None,
        source: str = "request",
    ) -> int:
        """Write a task and its waiting items (in the caller's transaction); return its id.

        ``stages`` default to the task type's. ``owner`` names the caller; each may have
        at most ``max_open_tasks`` unfinished. ``priority`` (``high``, ``normal``, ``low``)
        orders the feeding of its items. ``run_at`` (ISO 8601 with its zone, or an aware
        datetime) schedules it for later: until then it is ``pending`` and cancellable.
        ``source`` says what made it (``Task.source``).

        Nothing is sent: :meth:`start_task` does that once the rows are committed.
        """
        if (urls is None) == (link_ids is None):
            raise InvalidRequest("urls", "give either urls or link_ids, not both or neither")
        if priority not in PRIORITIES:
            raise InvalidRequest("priority", f"expected one of {', '.join(PRIORITIES)}")
        start_at = parse_run_at(run_at)
        self.check_open_tasks(owner)
        stage_names = self.stages_of(stages, task_type)
        ids = self._link_ids(urls) if urls is not None else self._existing_links(link_ids)
        with database.atomic():
            task = Task.create(
                type=task_type,
                status=Status.PENDING,
                stages=stage_names,
                priority=priority,
                feed_rank=self.limits.rank(priority, len(ids)),
                total_items=len(ids),
                owner=owner,
                run_at=start_at,
                source=source,
            )
            self.add_items(task.id, stage_names[0], ids)
        return int(task.id)

    @staticmethod
    def add_items(task_id: int, stage: str, link_ids: Sequence[int]) -> None:
        """Insert a task's items, waiting (pending) at ``stage``, in the current transaction.

        Stage runs are made as the items are fed.
        """
        now = utcnow()
        insert_rows(
            TaskItem._meta.table_name,
            ("task_id", "link_id", "stage", "status", "attempts", "created_at", "updated_at"),
            [(task_id, link_id, stage, Status.PENDING.value, 0, now, now) for link_id in link_ids],
        )

    def start_task(self, task_id: int) -> dict[str, Any]:
        """Feed a committed task's first stage, or, scheduled for later, wake it up then.

        A scheduled task is woken by a delayed message at its time; the reconciler's
        feeding starts it too (within a minute) should that message be lost.
        """
        task = self._task(task_id)
        answer: dict[str, Any] = {"task_id": task.id, "total_items": task.total_items}
        wait = (task.run_at - utcnow()).total_seconds() if task.run_at else 0.0
        if wait > 0:
            self._wake_later(task.id, wait)
            return answer | {"status": Status.PENDING.value, "run_at": iso(task.run_at)}
        feed(self.broker, task.stages[0], self.limits)
        items.current().mark_queued(task.id)
        return answer | {"status": Status.QUEUED.value}

    def _wake_later(self, task_id: int, seconds: float) -> None:
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=WAKE_QUEUE, actor_name=WAKE_ACTOR, args=(task_id,), kwargs={}, options={}
        )
        try:
            self.broker.enqueue(message, delay=int(seconds * 1000) + 1)
        except QueueNotFound:
            # A broker without the housekeeping queue (local mode): the feeding of the
            # reconciler or of finished work starts the task when its time has come.
            logger.debug("task %s: no %s queue to wake it; feeding will", task_id, WAKE_QUEUE)

    def check_open_tasks(self, owner: str | None) -> None:
        """Refuse a new task of ``owner`` past ``API_MAX_OPEN_TASKS`` unfinished ones."""
        if owner is None or self.max_open_tasks is None:
            return
        open_tasks = Task.select().where((Task.owner == owner) & Task.finished_at.is_null()).count()
        if open_tasks >= self.max_open_tasks:
            raise TooManyOpenTasks(
                f"{open_tasks} of your tasks are still running (at most {self.max_open_tasks}); "
                "wait for some to finish or cancel them"
            )

    @staticmethod
    def stages_of(stages: object, task_type: str) -> list[str]:
        """Return the stages asked for (validated, in pipeline order), or the type's own."""
        if stages is None:
            return list(TASK_TYPES[task_type])
        if not isinstance(stages, list) or not all(isinstance(name, str) for name in stages):
            raise InvalidRequest("stages", "expected a list of stage names")
        try:
            return ordered_stages(stages)
        except (KeyError, ValueError) as ex:
            raise InvalidRequest("stages", str(ex).strip("'\"")) from None

    def _task(self, task_id: int) -> Task:
        task = Task.get_or_none(Task.id == task_id)
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        return task

    def get_task(self, task_id: int) -> dict[str, Any]:
        """Return a task's status, counters, progress, per-stage counts and timings."""
        return task_detail(self._task(task_id))

    def list_tasks(
        self, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        """Return tasks, newest first, one page of them."""
        query = Task.select()
        if status is not None:
            query = query.where(Task.status == status)
        total = query.count()
        page = query.order_by(Task.id.desc()).limit(limit).offset(offset)
        return {
            "tasks": [task_summary(task) for task in page],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def list_items(
        self, task_id: int, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """Return one page of a task's items with their stage, status, attempts and error."""
        self._task(task_id)
        query = TaskItem.select(TaskItem, Link).join(Link).where(TaskItem.task == task_id)
        if status is not None:
            query = query.where(TaskItem.status == status)
        total = query.count()
        items = list(query.order_by(TaskItem.id).limit(limit).offset(offset))
        runs: dict[int, list[StageRun]] = {item.id: [] for item in items}
        if items:
            for run in StageRun.select().where(StageRun.item.in_(list(runs))).order_by(StageRun.id):
                runs[run.item_id].append(run)
        return {
            "items": [item_view(item, runs[item.id]) for item in items],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def retry(self, task_id: int) -> dict[str, Any]:
        """Re-run a task's failed items, each from the stage it failed in."""
        self._task(task_id)
        chains = items.current().reopen_failed_items(task_id)
        if not chains:
            raise Conflict(f"task {task_id} has no failed items to retry")
        feed_all(self.broker, self.limits, [stages[0] for _, stages in chains])
        return {
            "task_id": task_id,
            "status": Status.QUEUED.value,
            "retried_items": len(chains),
        }

    def cancel(self, task_id: int) -> dict[str, Any]:
        """Cancel a task: waiting items never run, running ones stop after their step."""
        task = self._task(task_id)
        if task.status in TERMINAL and task.status != Status.CANCELLED:
            raise Conflict(f"task {task_id} is already {task.status}")
        cancelled = items.current().cancel_task(task_id)
        # The cancelled items' slots are free: other tasks' items may take them.
        feed_all(self.broker, self.limits, task.stages)
        detail = task_detail(self._task(task_id))
        detail["cancelled_now"] = cancelled
        return detail
