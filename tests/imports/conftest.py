"""Fixtures of the import tests: export files of every format, an importer on the real stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.broker import build_broker
from shared.feeds import FeedService
from shared.imports.create import Importer
from shared.settings import Settings
from shared.tasks import TaskService
from tests.imports.make_fixtures import write_all

ROWS = 300


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Return format name → an export file of that format (``ROWS`` links and edge cases)."""
    return write_all(tmp_path_factory.mktemp("exports"), ROWS)


@pytest.fixture()
def tasks(settings: Settings) -> TaskService:
    """Return the task service on the test Redis and PostgreSQL."""
    return TaskService(build_broker(settings), max_urls=settings.api_max_urls)


@pytest.fixture()
def importer(tasks: TaskService) -> Importer:
    """Return an importer on the real stack."""
    return Importer(tasks, FeedService(tasks))
