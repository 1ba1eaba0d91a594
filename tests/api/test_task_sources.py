"""Task lists say where each task came from: a feed, a later start, a recurring job."""

from __future__ import annotations

from datetime import timedelta

from falcon.testing import TestClient

from services.api import responses as r
from shared.models import Feed, FeedEntry, Task, utcnow


def test_each_listed_task_names_its_source(client: TestClient) -> None:
    feed = Feed.create(url="https://news.example/feed.xml", stages=["parse"])
    polled = Task.create(type="pipeline", stages=["parse"], owner="token:a")
    FeedEntry.create(feed=feed, key="1", url="https://news.example/1", task=polled)
    FeedEntry.create(feed=feed, key="2", url="https://news.example/2", task=polled)
    later = Task.create(
        type="pipeline", stages=["parse"], owner="token:a", run_at=utcnow() + timedelta(hours=1)
    )
    recurring = Task.create(type="notion", stages=["publish"], source="recurring")
    imported = Task.create(type="import", stages=["parse"], owner="token:a", source="import")
    local = Task.create(type="pipeline", stages=["parse"], source="local")
    # A request made without a token has no owner: it is still a request
    asked = Task.create(type="pipeline", stages=["parse"])

    page = client.simulate_get("/api/tasks/history").json["data"]

    r.TaskPage.model_validate(page)
    sources = {task["id"]: task["source"] for task in page["tasks"]}
    assert sources == {
        polled.id: {"kind": "feed", "feed_id": feed.id},
        later.id: {"kind": "scheduled"},
        recurring.id: {"kind": "recurring"},
        imported.id: {"kind": "import"},
        local.id: {"kind": "local"},
        asked.id: {"kind": "request"},
    }
