"""Feeds and tasks scheduled for later, through the gateway on PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis
from falcon.testing import TestClient

from tests.api.conftest import assert_problem, urls


def test_a_feed_is_registered_read_listed_paused_resumed_and_removed(client: TestClient) -> None:
    created = client.simulate_post(
        "/api/feeds", json={"url": "https://Blog.Example.org/feed?utm_source=x", "every": "2h"}
    )
    assert created.status_code == 201, created.text
    feed = created.json["data"]
    assert created.headers["location"] == f"/api/feeds/{feed['id']}"
    assert (feed["url"], feed["every_seconds"], feed["status"]) == (
        "https://blog.example.org/feed",
        7200,
        "active",
    )
    assert feed["stages"] == ["parse", "enrich", "publish"]

    again = client.simulate_post(
        "/api/feeds", json={"url": "https://blog.example.org/feed", "stages": ["parse"]}
    )
    assert again.status_code == 200
    assert (again.json["data"]["id"], again.json["data"]["stages"]) == (feed["id"], ["parse"])
    # What is not given stays as it was: the 2 h interval, the one stage
    changed = client.simulate_post(
        "/api/feeds", json={"url": "https://blog.example.org/feed", "priority": "high"}
    ).json["data"]
    assert (changed["every_seconds"], changed["stages"], changed["priority"]) == (
        7200,
        ["parse"],
        "high",
    )

    listed = client.simulate_get("/api/feeds").json["data"]
    assert (listed["total"], [f["id"] for f in listed["feeds"]]) == (1, [feed["id"]])

    paused = client.simulate_patch(f"/api/feeds/{feed['id']}", json={"paused": True})
    assert (paused.json["data"]["status"], paused.json["data"]["next_poll_at"]) == ("paused", None)
    resumed = client.simulate_patch(f"/api/feeds/{feed['id']}", json={"paused": False})
    assert resumed.json["data"]["status"] == "active"

    removed = client.simulate_delete(f"/api/feeds/{feed['id']}")
    assert removed.json["data"] == {"id": feed["id"], "deleted": True}
    assert_problem(client.simulate_get(f"/api/feeds/{feed['id']}"), 404)


def test_bad_feed_bodies_name_the_field(client: TestClient) -> None:
    assert_problem(client.simulate_post("/api/feeds", json={"url": "gopher://x"}), 400, "url")
    assert_problem(
        client.simulate_post("/api/feeds", json={"url": "https://x.org/f", "every": "1m"}),
        400,
        "every",
    )
    assert_problem(
        client.simulate_post("/api/feeds", json={"url": "https://x.org/f", "colour": "red"}),
        400,
        "colour",
    )
    assert_problem(client.simulate_patch("/api/feeds/1", json={"paused": "maybe"}), 400, "paused")
    # A feed's entries are new links: stages that skip parse could never run
    refused = client.simulate_post(
        "/api/feeds", json={"url": "https://x.org/f", "stages": ["enrich", "publish"]}
    )
    assert_problem(refused, 400, "stages")
    assert "its stages begin with parse (got enrich, publish)" in refused.json["detail"]
    assert client.simulate_get("/api/feeds").json["data"]["total"] == 0


def test_a_task_scheduled_for_later_answers_pending_with_its_time_and_sends_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    start = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)

    result = client.simulate_post(
        "/api/pipeline", json={"urls": urls(3), "run_at": start.isoformat()}
    )

    assert result.status_code == 202, result.text
    data = result.json["data"]
    assert (data["status"], data["total_items"]) == ("pending", 3)
    assert data["run_at"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    task = client.simulate_get(f"/api/tasks/history/{data['task_id']}").json["data"]
    assert (task["status"], task["run_at"], task["waiting_items"]) == ("pending", data["run_at"], 3)
    assert redis_client.llen("dramatiq:parsing") == 0
    assert redis_client.hlen("dramatiq:default.DQ.msgs") == 1  # the wake-up at its time

    cancelled = client.simulate_post(f"/api/tasks/history/{data['task_id']}/cancel")
    assert cancelled.json["data"]["status"] == "cancelled"


def test_a_start_time_without_a_zone_is_refused(client: TestClient) -> None:
    result = client.simulate_post(
        "/api/pipeline", json={"urls": urls(1), "run_at": "2030-01-01T08:00:00"}
    )
    assert_problem(result, 400, "run_at")


def test_a_start_time_that_has_passed_starts_the_task_at_once(
    client: TestClient, redis_client: redis.Redis
) -> None:
    result = client.simulate_post(
        "/api/pipeline", json={"urls": urls(2), "run_at": "2020-01-01T00:00:00Z"}
    )

    assert result.status_code == 202, result.text
    data = result.json["data"]
    assert (data["status"], data["total_items"]) == ("queued", 2)
    assert redis_client.llen("dramatiq:parsing") == 2
