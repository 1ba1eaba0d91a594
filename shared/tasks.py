"""The task service: create tasks for links, read their status, retry and cancel them.

The gateway's resources and scripts call this; it commits rows first and sends messages
after (a message never names a row that is not yet visible to the workers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import dramatiq

from shared import lifecycle
from shared.db import database
from shared.errors import Conflict, InvalidRequest, NotFound, TooManyOpenTasks
from shared.models import TERMINAL, Link, StageRun, Status, Task, TaskItem, utcnow
from shared.pipeline import TASK_TYPES, item_chain, ordered_stages
from shared.urls import InvalidURL, normalize_url
from shared.views import item_view, link_view, task_detail, task_summary

logger = logging.getLogger(__name__)

#: Rows per INSERT/SELECT … IN batch: well under every driver's parameter limit.
BATCH = 500


def _chunks(values: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


class TaskService:
    """Create, inspect, retry and cancel tasks."""

    def __init__(
        self, broker: dramatiq.Broker, *, max_urls: int = 1000, max_open_tasks: int | None = None
    ) -> None:
        self.broker = broker
        self.max_urls = max_urls
        self.max_open_tasks = max_open_tasks

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
        wanted = self._normalise(urls)
        with database.atomic():
            for chunk in _chunks(list(wanted.items())):
                Link.insert_many(
                    [{"url": url, "normalized_url": key} for key, url in chunk]
                ).on_conflict_ignore().execute()
            found: dict[str, Link] = {}
            for keys in _chunks(list(wanted)):
                for link in Link.select().where(Link.normalized_url.in_(keys)):
                    found[link.normalized_url] = link
        return [found[key] for key in wanted]

    def _existing_links(self, link_ids: object) -> list[Link]:
        if not isinstance(link_ids, list) or not link_ids:
            raise InvalidRequest("link_ids", "expected a non-empty list of link ids")
        if len(link_ids) > self.max_urls:
            raise InvalidRequest("link_ids", f"at most {self.max_urls} ids per request")
        for position, value in enumerate(link_ids):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidRequest(f"link_ids[{position}]", "expected a positive integer")
        ids = list(dict.fromkeys(link_ids))
        found: dict[int, Link] = {}
        for chunk in _chunks(ids):
            found.update({link.id: link for link in Link.select().where(Link.id.in_(chunk))})
        missing = [link_id for link_id in ids if link_id not in found]
        if missing:
            shown = ", ".join(str(link_id) for link_id in missing[:10])
            raise InvalidRequest("link_ids", f"no link with id {shown}")
        return [found[link_id] for link_id in ids]

    def get_link(self, link_id: int) -> dict[str, Any]:
        """Return a link with everything the stages produced for it."""
        link = Link.get_or_none(Link.id == link_id)
        if link is None:
            raise NotFound(f"link {link_id} does not exist")
        return link_view(link)

    # Tasks -------------------------------------------------------------------------

    def create_task(
        self,
        *,
        urls: object = None,
        link_ids: object = None,
        stages: object = None,
        task_type: str = "pipeline",
        owner: str | None = None,
    ) -> dict[str, Any]:
        """Create a task running ``stages`` (default: the task type's) for links.

        ``owner`` names the caller; each may have at most ``max_open_tasks`` unfinished.
        """
        if (urls is None) == (link_ids is None):
            raise InvalidRequest("urls", "give either urls or link_ids, not both or neither")
        self._check_open_tasks(owner)
        stage_names = self._stages(stages, task_type)
        links = self.create_links(urls) if urls is not None else self._existing_links(link_ids)
        now = utcnow()
        with database.atomic():
            task = Task.create(
                type=task_type,
                status=Status.PENDING,
                stages=stage_names,
                total_items=len(links),
                owner=owner,
            )
            for chunk in _chunks(links):
                TaskItem.insert_many(
                    [{"task": task.id, "link": link.id, "stage": stage_names[0]} for link in chunk]
                ).execute()
            item_ids = [
                item.id
                for item in TaskItem.select(TaskItem.id)
                .where(TaskItem.task == task.id)
                .order_by(TaskItem.id)
            ]
            for chunk in _chunks(item_ids):
                StageRun.insert_many(
                    [
                        {
                            "item": item_id,
                            "stage": stage_names[0],
                            "status": "queued",
                            "queued_at": now,
                        }
                        for item_id in chunk
                    ]
                ).execute()
        self._send([(item_id, stage_names) for item_id in item_ids])
        lifecycle.mark_queued(task.id)
        return {"task_id": task.id, "status": Status.QUEUED.value, "total_items": len(links)}

    def _check_open_tasks(self, owner: str | None) -> None:
        if owner is None or self.max_open_tasks is None:
            return
        open_tasks = Task.select().where((Task.owner == owner) & Task.finished_at.is_null()).count()
        if open_tasks >= self.max_open_tasks:
            raise TooManyOpenTasks(
                f"{open_tasks} of your tasks are still running (at most {self.max_open_tasks}); "
                "wait for some to finish or cancel them"
            )

    @staticmethod
    def _stages(stages: object, task_type: str) -> list[str]:
        if stages is None:
            return list(TASK_TYPES[task_type])
        if not isinstance(stages, list) or not all(isinstance(name, str) for name in stages):
            raise InvalidRequest("stages", "expected a list of stage names")
        try:
            return ordered_stages(stages)
        except (KeyError, ValueError) as ex:
            raise InvalidRequest("stages", str(ex).strip("'\"")) from None

    def _send(self, chains: list[tuple[int, list[str]]]) -> None:
        for item_id, stages in chains:
            item_chain(item_id, stages, self.broker).run()

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
        chains = lifecycle.reopen_failed_items(task_id)
        if not chains:
            raise Conflict(f"task {task_id} has no failed items to retry")
        self._send(chains)
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
        cancelled = lifecycle.cancel_task(task_id)
        detail = task_detail(self._task(task_id))
        detail["cancelled_now"] = cancelled
        return detail
