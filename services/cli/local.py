"""Local mode: the whole pipeline in one process, no Redis, no PostgreSQL, no setup.

The same actors and pipeline run on Dramatiq's in-memory broker with worker threads;
the database is SQLite; the AI provider and publisher are chosen as in the services
(``auto``: OpenAI or Notion when configured, else the offline ``local`` provider and the
Markdown publisher).
"""

from __future__ import annotations

import importlib
from typing import Any

import dramatiq

from services.cli.launch import SERVICES
from shared.broker import setup
from shared.db import database
from shared.feeding import FeedLimits
from shared.migrations import migrate
from shared.models import Task, TaskItem
from shared.settings import Settings
from shared.tasks import TaskService
from shared.views import item_view, task_detail

DEFAULT_LOCAL_DATABASE = "sqlite:///data/kbm.sqlite3"


def local_settings(settings: Settings) -> Settings:
    """Return ``settings`` for local mode: SQLite unless a SQLite database is configured."""
    if settings.database_url.startswith("sqlite"):
        return settings
    return settings.model_copy(update={"database_url": DEFAULT_LOCAL_DATABASE})


class LocalRun:
    """An in-process pipeline: start it, submit links, read progress, stop it."""

    def __init__(self, settings: Settings, *, threads: int = 8) -> None:
        self.settings = local_settings(settings)
        self.broker = setup(self.settings, stub=True)
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

    def submit(self, urls: list[str], stages: list[str] | None = None) -> int:
        """Create a task for ``urls``; return its id."""
        with database.connection_context():
            created = self.tasks.create_task(urls=urls, stages=stages)
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
