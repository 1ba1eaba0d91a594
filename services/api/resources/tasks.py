"""Tasks: create them for links, list and read them, retry and cancel them."""

from __future__ import annotations

import falcon

from services.api.auth import Access, principal_of
from services.api.body import read_body
from services.api.envelope import reply
from services.api.schemas import HistoryQuery, ItemsQuery, TaskBody, validate_query
from shared.task_sources import label_sources
from shared.tasks import TaskService


def task_url(task_id: int) -> str:
    """Return where a task's status is read."""
    return f"/api/tasks/history/{task_id}"


class CreateTaskResource:
    """``POST`` a body of ``body_model`` → a task of ``task_type`` (202)."""

    def __init__(self, tasks: TaskService, body_model: type[TaskBody], task_type: str) -> None:
        self.tasks = tasks
        self.body_model = body_model
        self.task_type = task_type

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create the task, send its messages and answer where to follow it."""
        body = read_body(req, self.body_model)
        created = self.tasks.create_task(
            task_type=self.task_type, owner=principal_of(req).name, **body.task_arguments()
        )
        reply(resp, created, 202, location=task_url(created["task_id"]))


class HistoryResource:
    """``GET /api/tasks/history``."""

    access = Access.READ

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer one page of tasks, newest first."""
        query = validate_query(HistoryQuery, req.params)
        status = query.status.value if query.status else None
        page = self.tasks.list_tasks(status=status, limit=query.limit, offset=query.offset)
        label_sources(page["tasks"])
        reply(resp, page)


class TaskResource:
    """``GET /api/tasks/history/{id}``."""

    access = Access.READ

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Answer the task's status, counters, per-stage counts and timings."""
        reply(resp, self.tasks.get_task(id))


class ItemsResource:
    """``GET /api/tasks/history/{id}/items``."""

    access = Access.READ

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Answer one page of the task's items."""
        query = validate_query(ItemsQuery, req.params)
        status = query.status.value if query.status else None
        page = self.tasks.list_items(id, status=status, limit=query.limit, offset=query.offset)
        reply(resp, page)


class RetryResource:
    """``POST /api/tasks/history/{id}/retry``."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Send the task's failed items again from the stage each failed in (202)."""
        reply(resp, self.tasks.retry(id), 202, location=task_url(id))


class CancelResource:
    """``POST /api/tasks/history/{id}/cancel``."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """Cancel the task and answer it as it is now."""
        reply(resp, self.tasks.cancel(id))
