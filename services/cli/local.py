"""Local mode: the whole pipeline in one process, no Redis, no PostgreSQL, no setup.

The same actors and pipeline run on Dramatiq's in-memory broker with worker threads;
the database is SQLite; the AI provider and publisher are chosen as in the services
(``auto``: OpenAI or Notion when configured, else the offline ``local`` provider and the
Markdown publisher).

Someone is watching: a failed stage is retried after ``LOCAL_RETRY_DELAYS`` (seconds, not
the services' minutes), and each failed attempt is told in one line (``parse URL:
retrying in 5 s: connection refused``) instead of the worker's traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import dramatiq
from dramatiq.middleware import Retries

from services.cli.launch import SERVICES
from shared.broker import setup
from shared.db import database
from shared.feed_limits import FeedLimits
from shared.logs import brief_worker_logs
from shared.middleware.retries import RetryNotice, RetryNotices
from shared.migrations import migrate
from shared.models import Link, Task, TaskItem
from shared.pipeline import stage_of_actor
from shared.settings import Settings
from shared.tasks import TaskService
from shared.views import item_view, task_detail

DEFAULT_LOCAL_DATABASE = "sqlite:///data/kbm.sqlite3"


def local_settings(settings: Settings) -> Settings:
    """Return ``settings`` for local mode.

    SQLite unless a SQLite database is configured; every stage retries after
    ``LOCAL_RETRY_DELAYS`` (the services' ``RETRY_DELAYS`` and per-stage delays are for
    unattended work).
    """
    update: dict[str, Any] = {
        "retry_delays": settings.local_retry_delays,
        "parsing_retry_delays": None,
        "ai_retry_delays": None,
        "notion_retry_delays": None,
    }
    if not settings.database_url.startswith("sqlite"):
        update["database_url"] = DEFAULT_LOCAL_DATABASE
    return settings.model_copy(update=update)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def notice_line(notice: RetryNotice) -> str:
    """Return a notice with what failed: ``parse http://…: retrying in 5 s: …``."""
    stage = stage_of_actor(notice.actor)
    what = stage.name if stage else notice.actor
    if notice.item is not None:
        link = Link.select(Link.url).join(TaskItem).where(TaskItem.id == notice.item).first()
        what += f" {link.url}" if link else f" item {notice.item}"
    return f"{what}: {notice.line()}"


class LocalRun:
    """An in-process pipeline: start it, submit links, read progress, stop it."""

    def __init__(
        self,
        settings: Settings,
        *,
        threads: int = 8,
        notify: Callable[[str], None] = _to_stderr,
    ) -> None:
        self.settings = local_settings(settings)
        self.notify = notify
        # Brief logs from the start (the migrations) until the run is over.
        self._cleanup = ExitStack()
        self._cleanup.enter_context(brief_worker_logs(self.settings.log_level))
        self.broker = setup(self.settings, stub=True)
        # After-hooks run in reverse: it hears of a failure once Retries has decided.
        self.broker.add_middleware(RetryNotices(self._tell), before=Retries)
        migrate()
        for _, module in SERVICES.values():
            importlib.import_module(module)
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=50)
        self.tasks = TaskService(
            self.broker, max_urls=1_000_000, limits=FeedLimits.from_settings(self.settings)
        )

    def __enter__(self) -> LocalRun:
        self.worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.stop()
        self.broker.close()
        self._cleanup.close()

    def _tell(self, notice: RetryNotice) -> None:
        self.notify(notice_line(notice))

    def submit(self, urls: list[str], stages: list[str] | None = None) -> int:
        """Create a task for ``urls``; return its id."""
        with database.connection_context():
            created = self.tasks.create_task(urls=urls, stages=stages, source="local")
        return int(created["task_id"])

    def status(self, task_id: int) -> dict[str, Any]:
        """Return the task's status document, as the gateway would."""
        with database.connection_context():
            return task_detail(Task.get_by_id(task_id))

    def failures(self, task_id: int) -> list[dict[str, Any]]:
        """Return the task's failed items with their reasons."""
        with database.connection_context():
            items = TaskItem.select().where(
                (TaskItem.task == task_id) & (TaskItem.status == "failed")
            )
            return [item_view(item) for item in items]
