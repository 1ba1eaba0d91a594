"""The notion service's own setup callable installs its start-up check."""

from __future__ import annotations

import logging

import dramatiq
import pytest
from pydantic import SecretStr

from services.notion import worker
from shared.middleware.tracking import ItemTracking
from shared.settings import Settings


def test_the_notion_setup_installs_the_start_up_check_once(settings: Settings) -> None:
    # When the notion service's setup installs the broker (as `kbm worker notion` does)
    broker = worker.setup(settings, stub=True)
    try:
        installed = [type(middleware) for middleware in broker.middleware]
        # Then the start-up check is there once, after the project's own middleware
        assert installed.count(worker.NotionStartupCheck) == 1
        assert installed.index(worker.NotionStartupCheck) > installed.index(ItemTracking)
    finally:
        broker.close()


def test_the_start_up_check_names_a_missing_notion_setting(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Given Notion chosen as the publisher without a database
    chosen = settings.model_copy(
        update={"publisher": "notion", "notion_token": SecretStr("token"), "notion_database_id": ""}
    )
    broker = worker.setup(chosen, stub=True)
    worker.publisher.cache_clear()
    try:
        # When a worker process boots
        with caplog.at_level(logging.ERROR, logger=worker.__name__):
            check = next(m for m in broker.middleware if isinstance(m, worker.NotionStartupCheck))
            check.after_worker_boot(broker, dramatiq.Worker(broker, worker_threads=1))
        # Then the process logs what is wrong, naming the setting, and keeps running
        assert any("NOTION_DATABASE_ID" in record.getMessage() for record in caplog.records)
    finally:
        worker.publisher.cache_clear()
        broker.close()
