from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from falcon.testing import TestClient

from shared.models import Task
from tests.api.conftest import assert_problem, urls

GOOD = urls(1)

BAD_BODIES = [
    ("/api/links", {}, "urls"),
    ("/api/links", {"urls": "https://news.example/a"}, "urls"),
    ("/api/links", {"urls": []}, "urls"),
    ("/api/links", {"urls": [*GOOD, "ftp://x"]}, "urls[1]"),
    ("/api/links", {"urls": [*GOOD, 7]}, "urls[1]"),
    ("/api/links", {"urls": GOOD, "tags": ["x"]}, "tags"),
    ("/api/pipeline", {}, "urls"),
    ("/api/pipeline", {"urls": ["ftp://x"]}, "urls[0]"),
    ("/api/pipeline", {"urls": GOOD, "link_ids": [1]}, "urls"),
    ("/api/pipeline", {"urls": GOOD, "stages": ["parse", "translate"]}, "stages"),
    ("/api/pipeline", {"urls": GOOD, "stages": "parse"}, "stages"),
    ("/api/pipeline", {"link_ids": ["1"]}, "link_ids[0]"),
    ("/api/pipeline", {"link_ids": [0]}, "link_ids[0]"),
    ("/api/pipeline", {"link_ids": [True]}, "link_ids[0]"),
    ("/api/pipeline", {"link_ids": [987654]}, "link_ids"),
    ("/api/pipeline", {"urls": GOOD, "priority": 1}, "priority"),
    ("/api/parsing/sync", {"link_ids": [1], "async": False}, "async"),
    ("/api/parsing/sync", {"urls": GOOD, "stages": ["parse"]}, "stages"),
    ("/api/ai/process", {}, "link_ids"),
    ("/api/notion/import", {"link_ids": "1,2"}, "link_ids"),
]


@pytest.mark.parametrize(("route", "body", "field"), BAD_BODIES)
def test_an_invalid_body_is_a_400_problem_naming_the_field(
    client: TestClient, redis_client: redis.Redis, route: str, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(client.simulate_post(route, json=body), 400, field)

    assert problem["type"] == "urn:kbm:problem:invalid-request"
    assert problem["errors"][0]["field"] == field
    assert Task.select().count() == 0
    assert redis_client.llen("dramatiq:parsing") == 0


def test_every_invalid_field_is_listed(client: TestClient) -> None:
    body = {"link_ids": ["a", -1], "stages": [3]}

    problem = assert_problem(client.simulate_post("/api/pipeline", json=body), 400)

    assert [error["field"] for error in problem["errors"]] == [
        "link_ids[0]",
        "link_ids[1]",
        "stages[0]",
    ]


def test_async_false_is_refused_with_how_to_follow_the_task(client: TestClient) -> None:
    result = client.simulate_post("/api/parsing/sync", json={"link_ids": [1], "async": False})

    problem = assert_problem(result, 400, "async")
    assert "background" in problem["detail"]
    assert "/api/tasks/history/" in problem["detail"]


@pytest.mark.parametrize(
    ("route", "query", "field"),
    [
        ("/api/tasks/history", "limit=0", "limit"),
        ("/api/tasks/history", "limit=201", "limit"),
        ("/api/tasks/history", "limit=ten", "limit"),
        ("/api/tasks/history", "offset=-1", "offset"),
        ("/api/tasks/history", "status=done", "status"),
        ("/api/tasks/history", "sort=id", "sort"),
        ("/api/tasks/history/1/items", "limit=1001", "limit"),
        ("/api/tasks/history/1/items", "status=lost", "status"),
    ],
)
def test_an_invalid_query_is_a_400_problem_naming_the_parameter(
    client: TestClient, route: str, query: str, field: str
) -> None:
    assert_problem(client.simulate_get(route, query_string=query), 400, field)


def test_the_largest_page_sizes_are_accepted(client: TestClient) -> None:
    assert client.simulate_get("/api/tasks/history", params={"limit": 200}).status_code == 200
    task_id = client.simulate_post("/api/pipeline", json={"urls": GOOD}).json["data"]["task_id"]
    items = client.simulate_get(f"/api/tasks/history/{task_id}/items", params={"limit": 1000})
    assert items.status_code == 200


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    problem = assert_problem(client.simulate_get("/api/nothing/here"), 404)

    assert problem["type"] == "about:blank"
    assert problem["title"] == "Not Found"


def test_a_non_numeric_id_matches_no_route(client: TestClient) -> None:
    assert_problem(client.simulate_get("/api/tasks/history/abc"), 404)


@pytest.mark.parametrize(
    ("method", "route"),
    [("GET", "/api/pipeline"), ("DELETE", "/api/links"), ("PUT", "/api/tasks/history/1")],
)
def test_a_method_the_route_does_not_serve_is_a_405_problem(
    client: TestClient, method: str, route: str
) -> None:
    result = client.simulate_request(method, route)

    problem = assert_problem(result, 405)
    assert "Allow" in result.headers or "allow" in result.headers
    assert method in problem["detail"]


def test_a_body_that_is_not_json_is_a_400_problem(client: TestClient) -> None:
    result = client.simulate_post(
        "/api/links", body='{"urls": [', headers={"Content-Type": "application/json"}
    )

    problem = assert_problem(result, 400)
    assert problem["detail"].startswith("request body is not valid JSON: ")


@pytest.mark.parametrize(
    ("body", "kind"), [(["https://a.example/"], "an array"), ("x", "a string"), (None, "null")]
)
def test_a_json_body_that_is_not_an_object_is_a_400_problem(
    client: TestClient, body: object, kind: str
) -> None:
    result = client.simulate_post(
        "/api/links", body=json.dumps(body), content_type="application/json"
    )
    problem = assert_problem(result, 400)

    assert problem["field"] == "body"
    assert problem["detail"] == f"body: expected a JSON object, got {kind}"


def test_an_unexpected_error_is_a_generic_500_problem_and_is_logged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A fault inside the task service (here: a view that breaks) must not leak internals.
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr("shared.tasks.TaskService.get_task", broken)

    result = client.simulate_get("/api/tasks/history/1")

    problem = assert_problem(result, 500)
    assert "hunter2" not in result.text
    assert problem["detail"] == "an unexpected error occurred; it has been logged"
    assert "hunter2" in caplog.text


BODY_ROUTES = [
    "/api/links",
    "/api/pipeline",
    "/api/parsing/sync",
    "/api/ai/process",
    "/api/notion/import",
    "/api/feeds",
    "/api/monitoring/dead-letters/requeue",
]


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize("depth", [500, 5_000, 100_000])
def test_json_nested_beyond_any_limit_is_a_400_problem(
    client: TestClient, path: str, depth: int
) -> None:
    body = "[" * depth + "]" * depth
    result = client.simulate_post(path, body=body, content_type="application/json")
    assert result.status_code == 400, result.text
    assert result.headers["content-type"] == "application/problem+json"
    deep = '{"urls": ' + "[" * depth + "]" * depth + "}"
    assert client.simulate_post(path, body=deep, content_type="application/json").status_code == 400


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/pipeline", '{"urls": ["https://example.com/\\ud800"]}', "urls[0]"),
        (
            "/api/links",
            '{"urls": ["https://example.com/a", "https://x.example/\\udfff"]}',
            "urls[1]",
        ),
        ("/api/feeds", '{"url": "https://example.com/feed\\udc00"}', "url"),
        ("/api/pipeline", '{"urls": ["https://example.com/a"], "\\ud800": 1}', "body"),
    ],
)
def test_a_lone_surrogate_is_a_400_problem_naming_the_field(
    client: TestClient, path: str, body: str, field: str
) -> None:
    result = client.simulate_post(path, body=body, content_type="application/json")
    problem = assert_problem(result, 400)
    assert problem["field"] == field
    assert "surrogate" in problem["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:s3cr3t@example.com/a",
        "https://alice@example.com/a",
        "https://:s3cr3t@example.com/",
        "https://alice%40b:s3cr3t@example.com/",
    ],
)
def test_urls_with_credentials_are_refused_naming_the_item(client: TestClient, url: str) -> None:
    for path in ("/api/pipeline", "/api/links", "/api/parsing/sync"):
        result = client.simulate_post(path, json={"urls": ["https://example.com/ok", url]})
        problem = assert_problem(result, 400, "urls[1]")
        assert "credentials" in problem["detail"]
        assert "s3cr3t" not in result.text and "alice" not in result.text
    feed = client.simulate_post("/api/feeds", json={"url": url})
    assert_problem(feed, 400, "url")
