from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from falcon.testing import TestClient

from shared import items
from shared.models import Status, Task, TaskItem
from shared.settings import Settings
from tests.api.conftest import assert_problem, client_with, urls


def _created(result: Any, total: int) -> int:
    assert result.status_code == 202, result.text
    assert result.json == {
        "success": True,
        "data": {
            "task_id": result.json["data"]["task_id"],
            "status": "queued",
            "total_items": total,
        },
    }
    task_id: int = result.json["data"]["task_id"]
    assert result.headers["location"] == f"/api/tasks/history/{task_id}"
    return task_id


def _assert_queued_in_db(task_id: int, task_type: str, stages: list[str], total: int) -> None:
    task = Task.get_by_id(task_id)
    assert (task.type, task.status, task.stages, task.total_items) == (
        task_type,
        Status.QUEUED,
        stages,
        total,
    )
    items = list(TaskItem.select().where(TaskItem.task == task_id))
    assert len(items) == total
    assert {(item.status, item.stage) for item in items} == {(Status.QUEUED, stages[0])}


def _link_ids(client: TestClient, count: int) -> list[int]:
    ids: list[int] = client.simulate_post("/api/links", json={"urls": urls(count)}).json["data"][
        "link_ids"
    ]
    return ids


def test_a_pipeline_task_for_urls_queues_one_parse_message_per_item(
    client: TestClient, redis_client: redis.Redis
) -> None:
    result = client.simulate_post("/api/pipeline", json={"urls": urls(3)})

    task_id = _created(result, 3)
    assert redis_client.llen("dramatiq:parsing") == 3
    _assert_queued_in_db(task_id, "pipeline", ["parse", "enrich", "publish"], 3)


def test_a_pipeline_task_runs_the_stages_asked_for_in_pipeline_order(
    client: TestClient, redis_client: redis.Redis
) -> None:
    link_ids = _link_ids(client, 2)

    result = client.simulate_post(
        "/api/pipeline", json={"link_ids": link_ids, "stages": ["enrich", "parse"]}
    )

    task_id = _created(result, 2)
    assert redis_client.llen("dramatiq:parsing") == 2
    assert redis_client.llen("dramatiq:ai") == 0
    _assert_queued_in_db(task_id, "pipeline", ["parse", "enrich"], 2)


def test_duplicate_urls_in_one_task_become_one_item(client: TestClient) -> None:
    result = client.simulate_post(
        "/api/pipeline", json={"urls": ["https://news.example/a", "https://NEWS.example/a#top"]}
    )

    _created(result, 1)


def test_parsing_sync_creates_a_background_parsing_task_for_links(
    client: TestClient, redis_client: redis.Redis
) -> None:
    link_ids = _link_ids(client, 2)

    result = client.simulate_post("/api/parsing/sync", json={"link_ids": link_ids, "async": True})

    task_id = _created(result, 2)
    assert redis_client.llen("dramatiq:parsing") == 2
    _assert_queued_in_db(task_id, "parsing", ["parse"], 2)


def test_parsing_sync_accepts_urls_too(client: TestClient, redis_client: redis.Redis) -> None:
    result = client.simulate_post("/api/parsing/sync", json={"urls": urls(3)})

    task_id = _created(result, 3)
    assert redis_client.llen("dramatiq:parsing") == 3
    _assert_queued_in_db(task_id, "parsing", ["parse"], 3)


@pytest.mark.parametrize(
    ("route", "task_type", "stage", "queue"),
    [
        ("/api/ai/process", "ai", "enrich", "ai"),
        ("/api/notion/import", "notion", "publish", "notion"),
    ],
)
def test_stage_routes_create_a_task_for_that_stage_only(
    client: TestClient,
    redis_client: redis.Redis,
    route: str,
    task_type: str,
    stage: str,
    queue: str,
) -> None:
    link_ids = _link_ids(client, 2)

    result = client.simulate_post(route, json={"link_ids": link_ids})

    task_id = _created(result, 2)
    assert redis_client.llen(f"dramatiq:{queue}") == 2
    assert redis_client.llen("dramatiq:parsing") == 0
    _assert_queued_in_db(task_id, task_type, [stage], 2)


def test_history_lists_tasks_newest_first_and_pages_them(client: TestClient) -> None:
    ids = [
        _created(client.simulate_post("/api/pipeline", json={"urls": urls(1)}), 1) for _ in "abc"
    ]

    page = client.simulate_get("/api/tasks/history", params={"limit": 2, "offset": 1}).json["data"]

    assert page["total"] == 3
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [task["id"] for task in page["tasks"]] == [ids[1], ids[0]]


def test_history_filters_by_status(client: TestClient) -> None:
    kept = _created(client.simulate_post("/api/pipeline", json={"urls": urls(1)}), 1)
    cancelled = _created(
        client.simulate_post("/api/pipeline", json={"urls": urls(1, "b.example")}), 1
    )
    client.simulate_post(f"/api/tasks/history/{cancelled}/cancel")

    page = client.simulate_get("/api/tasks/history", params={"status": "queued"}).json["data"]

    assert [task["id"] for task in page["tasks"]] == [kept]
    assert page["total"] == 1


def test_a_task_is_read_with_counters_progress_and_stage_counts(client: TestClient) -> None:
    task_id = _created(client.simulate_post("/api/pipeline", json={"urls": urls(2)}), 2)

    data = client.simulate_get(f"/api/tasks/history/{task_id}").json["data"]

    assert data["id"] == task_id
    assert data["type"] == "pipeline"
    assert data["status"] == "queued"
    assert (data["total_items"], data["completed_items"], data["failed_items"]) == (2, 0, 0)
    assert data["progress"] == 0.0
    assert data["stage_counts"]["parse"]["queued"] == 2
    assert data["created_at"].endswith("Z")


def test_a_tasks_items_are_listed_with_stage_status_and_attempts(client: TestClient) -> None:
    task_id = _created(client.simulate_post("/api/pipeline", json={"urls": urls(3)}), 3)

    page = client.simulate_get(f"/api/tasks/history/{task_id}/items", params={"limit": 2}).json[
        "data"
    ]

    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert len(page["items"]) == 2
    for item in page["items"]:
        assert item["task_id"] == task_id
        assert (item["stage"], item["status"], item["attempts"], item["error"]) == (
            "parse",
            "queued",
            0,
            None,
        )
        assert item["stages"]["parse"]["status"] == "queued"


def test_unknown_tasks_are_404_problems(client: TestClient) -> None:
    for path in ("", "/items"):
        assert_problem(client.simulate_get(f"/api/tasks/history/777{path}"), 404)
    for action in ("retry", "cancel"):
        assert_problem(client.simulate_post(f"/api/tasks/history/777/{action}"), 404)


def test_retrying_a_task_without_failed_items_is_a_409_problem(client: TestClient) -> None:
    task_id = _created(client.simulate_post("/api/pipeline", json={"urls": urls(1)}), 1)

    problem = assert_problem(client.simulate_post(f"/api/tasks/history/{task_id}/retry"), 409)

    assert "no failed items" in problem["detail"]


def test_retrying_sends_failed_items_again_from_the_stage_they_failed_in(
    client: TestClient, redis_client: redis.Redis
) -> None:
    # Given a task whose only item failed for good in the parse stage (as a worker records it)
    task_id = _created(client.simulate_post("/api/pipeline", json={"urls": urls(1)}), 1)
    item = TaskItem.get(TaskItem.task == task_id)
    assert items.current().start_stage(item.id, "parse").run
    items.current().fail_stage(item.id, "parse", "HTTP 500", final=True, attempt=1)
    redis_client.delete("dramatiq:parsing", "dramatiq:parsing.msgs")

    # When it is retried
    result = client.simulate_post(f"/api/tasks/history/{task_id}/retry")

    # Then the item is queued again and its parse message is back in Redis
    assert result.status_code == 202
    assert result.json["data"] == {"task_id": task_id, "status": "queued", "retried_items": 1}
    assert redis_client.llen("dramatiq:parsing") == 1
    assert TaskItem.get_by_id(item.id).status == Status.QUEUED


def test_cancelling_cancels_every_waiting_item_and_keeps_counters_consistent(
    client: TestClient,
) -> None:
    task_id = _created(client.simulate_post("/api/pipeline", json={"urls": urls(4)}), 4)
    before = client.simulate_get(f"/api/tasks/history/{task_id}").json["data"]
    sent = before["stage_counts"]["parse"]["queued"]
    assert sent > 0

    result = client.simulate_post(f"/api/tasks/history/{task_id}/cancel")

    assert result.status_code == 200
    data = result.json["data"]
    assert data["status"] == "cancelled"
    assert data["cancelled_now"] == 4
    assert data["cancelled_items"] == data["total_items"] == 4
    assert data["completed_items"] + data["failed_items"] + data["cancelled_items"] == 4
    assert data["pending_items"] == 0
    assert data["progress"] == 100.0
    # The runs that waited in the queue are cancelled too: no stage count says queued
    parse = data["stage_counts"]["parse"]
    assert (parse["queued"], parse["pending"], parse["cancelled"]) == (0, 0, sent)
    items = client.simulate_get(f"/api/tasks/history/{task_id}/items").json["data"]["items"]
    assert {item["status"] for item in items} == {"cancelled"}


def test_cancelling_a_cancelled_task_again_changes_nothing(client: TestClient) -> None:
    task_id = _created(client.simulate_post("/api/pipeline", json={"urls": urls(2)}), 2)
    client.simulate_post(f"/api/tasks/history/{task_id}/cancel")

    again = client.simulate_post(f"/api/tasks/history/{task_id}/cancel")

    assert again.status_code == 200
    assert again.json["data"]["cancelled_now"] == 0
    assert again.json["data"]["cancelled_items"] == 2


@pytest.mark.parametrize("route", ["/api/pipeline", "/api/parsing/sync"])
def test_a_task_is_created_with_the_priority_asked_for_and_shows_what_waits(
    client: TestClient, route: str
) -> None:
    result = client.simulate_post(route, json={"urls": urls(3), "priority": "low"})

    task = client.simulate_get(f"/api/tasks/history/{_created(result, 3)}").json["data"]
    assert (task["priority"], task["feed_priority"]) == ("low", "low")
    assert (task["waiting_items"], task["queued_items"], task["running_items"]) == (0, 3, 0)


def test_the_priority_defaults_to_normal_and_a_small_task_is_fed_as_high(
    client: TestClient,
) -> None:
    small = _created(client.simulate_post("/api/pipeline", json={"urls": urls(1)}), 1)
    big = _created(client.simulate_post("/api/pipeline", json={"urls": urls(11, "b.example")}), 11)

    listed = {
        task["id"]: task for task in client.simulate_get("/api/tasks/history").json["data"]["tasks"]
    }
    assert (listed[small]["priority"], listed[small]["feed_priority"]) == ("normal", "high")
    assert (listed[big]["priority"], listed[big]["feed_priority"]) == ("normal", "normal")


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/api/pipeline", {"urls": urls(1), "priority": "urgent"}),
        ("/api/ai/process", {"link_ids": [1], "priority": 1}),
    ],
)
def test_an_unknown_priority_is_a_400_naming_the_field(
    client: TestClient, route: str, body: dict[str, Any]
) -> None:
    assert_problem(client.simulate_post(route, json=body), 400, "priority")


def test_a_bulk_task_is_one_bounded_request_that_sends_one_batch_and_counts_the_rest(
    settings: Settings, redis_client: redis.Redis
) -> None:
    # Given a gateway that accepts 100 000 URLs in one request
    client = client_with(
        settings,
        api_max_urls=100_000,
        api_max_body_bytes=16 * 1024 * 1024,
        queue_max_in_flight=40,
        task_max_in_flight=40,
    )
    total = 100_000

    # When they are submitted
    started = time.monotonic()
    result = client.simulate_post("/api/parsing/sync", json={"urls": urls(total, "bulk.example")})
    elapsed = time.monotonic() - started

    # Then the request answers in bounded time, one batch is queued and the rest waits
    task_id = _created(result, total)
    print(f"\naccepted a task of {total} links in {elapsed:.1f} s")
    assert elapsed < 90
    assert redis_client.llen("dramatiq:parsing") == 40
    task = client.simulate_get(f"/api/tasks/history/{task_id}").json["data"]
    assert (task["waiting_items"], task["queued_items"]) == (total - 40, 40)
    metrics = client.simulate_get("/metrics").text
    assert f'kbm_items_waiting{{priority="normal",queue="parsing"}} {total - 40}.0' in metrics
    assert 'kbm_items_queued{priority="normal",queue="parsing"} 40.0' in metrics
