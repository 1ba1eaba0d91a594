"""The Notion database's tag options join the tag vocabulary when a worker starts."""

from __future__ import annotations

import dramatiq
import pytest

from services.notion import worker
from services.notion.tag_options import option_names
from shared import tags
from shared.db import database
from shared.settings import Settings
from tests.notion.conftest import PublisherFactory
from tests.notion.notion_server import NotionServer


def test_the_start_up_check_stores_the_tag_options_once(
    settings: Settings,
    notion_server: NotionServer,
    make_publisher: PublisherFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notion_server.schema["Tags"]["multi_select"]["options"] = [
        {"id": "a", "name": "Machine Learning", "color": "default"},
        {"id": "b", "name": "Climate", "color": "blue"},
    ]
    publisher = make_publisher()
    monkeypatch.setattr(worker, "publisher", lambda: publisher)
    broker = worker.setup(settings, stub=True)
    try:
        check = next(m for m in broker.middleware if isinstance(m, worker.NotionStartupCheck))
        for _boot in range(2):  # a second process finds them there
            check.after_worker_boot(broker, dramatiq.Worker(broker, worker_threads=1))
    finally:
        broker.close()

    with database.connection_context():
        vocabulary = {(tag.name, tag.source, tag.uses) for tag in tags.vocabulary()}
    assert vocabulary == {("Machine Learning", "notion", 0), ("Climate", "notion", 0)}


def test_option_names_come_from_the_tags_property_only() -> None:
    properties = {
        "Tags": {"type": "multi_select", "multi_select": {"options": [{"name": " AI "}, {}]}},
        "Status": {"type": "select", "select": {"options": [{"name": "Done"}]}},
    }

    assert option_names(properties, "Tags") == ["AI"]
    assert option_names(properties, "Missing") == []
