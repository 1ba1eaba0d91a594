"""``POST /api/imports`` through the real gateway app (falcon.testing), PostgreSQL and Redis."""

from __future__ import annotations

from pathlib import Path

import redis
from falcon.testing import TestClient
from pydantic import SecretStr

from services.api.app import create_app
from shared.models import Link, TaskItem
from shared.settings import Settings
from tests.api.conftest import assert_problem
from tests.imports.make_fixtures import DUPLICATES, REFUSED, VARIANTS, library

ROWS = 300


def _client(settings: Settings, **changes: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes)))


def test_an_export_as_the_body_is_one_task_answered_with_its_report(
    settings: Settings, exports: dict[str, Path], redis_url: str
) -> None:
    client = _client(settings)
    body = exports["pocket-csv"].read_bytes()
    result = client.simulate_post(
        "/api/imports", body=body, headers={"Content-Type": "text/csv"}, params={"priority": "low"}
    )
    assert result.status_code == 202, result.text
    report = result.json["data"]
    assert report["format"] == "pocket-csv"
    assert report["rows_read"] == ROWS + DUPLICATES + VARIANTS + len(REFUSED)
    assert (report["links_new"], report["refused"]) == (ROWS, len(REFUSED))
    assert result.headers["location"] == f"/api/tasks/history/{report['task_id']}"
    task = client.simulate_get(f"/api/tasks/history/{report['task_id']}").json["data"]
    assert (task["type"], task["total_items"], task["priority"]) == ("import", ROWS, "low")
    # The first stage is fed right away: its messages wait in Redis, nothing has run yet.
    assert redis.Redis.from_url(redis_url).llen("dramatiq:parsing") > 0

    again = client.simulate_post("/api/imports", body=body)
    assert again.status_code == 200
    assert again.json["data"]["already_known"] == ROWS
    assert again.json["data"]["task_id"] is None
    assert (Link.select().count(), TaskItem.select().count()) == (ROWS, ROWS)


def test_only_the_full_token_imports(settings: Settings, exports: dict[str, Path]) -> None:
    # Given a gateway with a full token and a read-only one
    client = _client(
        settings, api_token=SecretStr("full-token"), api_read_tokens=SecretStr("read-token")
    )
    body = exports["pocket-csv"].read_bytes()
    # Then no token and a wrong one are refused as unauthenticated, the read-only one as
    # not allowed, and none of them imports anything
    for authorization, status in ((None, 401), ("Bearer wrong", 401), ("Bearer read-token", 403)):
        headers = {"Authorization": authorization} if authorization else {}
        assert client.simulate_post("/api/imports", body=body, headers=headers).status_code == (
            status
        ), authorization
    assert Link.select().count() == 0
    # And the full token imports
    headers = {"Authorization": "Bearer full-token"}
    assert client.simulate_post("/api/imports", body=body, headers=headers).status_code == 202
    assert Link.select().count() == ROWS


def test_the_link_shows_what_the_library_kept(settings: Settings, exports: dict[str, Path]) -> None:
    client = _client(settings)
    client.simulate_post("/api/imports", body=exports["raindrop"].read_bytes())
    entry = library(ROWS)[18]  # a note, highlights, a folder, a favourite
    link = Link.get(Link.url == entry.url)
    kept = client.simulate_get(f"/api/links/{link.id}").json["data"]["library"]
    assert kept["title"] == entry.title
    assert kept["tags"] == entry.tags
    assert kept["saved_at"] == entry.iso
    assert kept["note"] == entry.note
    assert [h["text"] for h in kept["highlights"]] == entry.highlights
    assert kept["folder"] == entry.folder
    assert kept["imported_from"] == "raindrop"


def test_a_dry_run_answers_the_report_and_imports_nothing(
    settings: Settings, exports: dict[str, Path]
) -> None:
    result = _client(settings).simulate_post(
        "/api/imports", body=exports["omnivore"].read_bytes(), params={"dry_run": "true"}
    )
    assert result.status_code == 200
    assert result.json["data"]["dry_run"] is True
    assert result.json["data"]["links_new"] == ROWS
    assert Link.select().count() == 0


def test_bad_files_are_400_problems_naming_the_line(settings: Settings) -> None:
    client = _client(settings)
    problem = assert_problem(client.simulate_post("/api/imports", body=b""), 400, "file")
    assert "empty" in problem["detail"]
    body = b"title,url,time_added,tags,status\nCaf\xe9,https://example.org/,1,,unread\n"
    problem = assert_problem(client.simulate_post("/api/imports", body=body), 400, "file")
    assert "line 2" in problem["detail"]


def test_a_file_over_the_import_limit_is_a_413(settings: Settings) -> None:
    client = _client(settings, import_max_bytes=4096, api_max_body_bytes=1024)
    result = client.simulate_post("/api/imports", body=b"https://example.org/a\n" * 1000)
    problem = assert_problem(result, 413)
    assert "4096" in problem["detail"]
    assert Link.select().count() == 0


def test_other_routes_keep_their_json_only_rule_and_cap(settings: Settings) -> None:
    client = _client(settings, api_max_body_bytes=1024)
    text = client.simulate_post("/api/pipeline", body=b"x", headers={"Content-Type": "text/csv"})
    assert text.status_code == 415
    big = client.simulate_post("/api/imports", body=b"https://example.org/a\n" * 100)
    assert big.status_code == 202


def test_the_route_is_documented(settings: Settings) -> None:
    document = _client(settings).simulate_get("/api/openapi.json").json
    operation = document["paths"]["/api/imports"]["post"]
    assert "application/octet-stream" in operation["requestBody"]["content"]
    assert {p["name"] for p in operation["parameters"]} >= {"dry_run", "stages", "priority"}
    assert "202" in operation["responses"] and "413" in operation["responses"]


def test_the_users_tags_merge_with_the_enrichments_marked_as_theirs(settings: Settings) -> None:
    from shared.models import Enrichment

    client = _client(settings)
    body = (
        b"title,url,time_added,tags,status\n"
        b"T,https://example.org/t,1600000000,Python|long read,unread\n"
    )
    client.simulate_post("/api/imports", body=body)
    link = Link.get()
    Enrichment.create(
        link=link,
        summary="s",
        category="Technology",
        tags=["python", "queues"],
        sentiment="neutral",
        sentiment_score=0.0,
        provider="local",
        model="local",
    )
    tags = client.simulate_get(f"/api/links/{link.id}").json["data"]["tags"]
    assert tags == [
        {"name": "Python", "source": "both"},
        {"name": "long read", "source": "user"},
        {"name": "queues", "source": "enrichment"},
    ]


def test_a_1_gb_body_announced_is_refused_before_it_is_read(settings: Settings) -> None:
    client = _client(settings)
    result = client.simulate_post(
        "/api/imports", body=b"https://example.org/\n", headers={"Content-Length": str(1 << 30)}
    )
    problem = assert_problem(result, 413)
    assert str(settings.import_max_bytes) in problem["detail"]
