"""``GET /api/links``: filters, full-text search in each link's language, pages, errors."""

from __future__ import annotations

from typing import Any

import pytest
from falcon.testing import TestClient

from services.api import responses as r
from shared.models import StageRun, Status, Task, TaskItem
from tests.api.conftest import assert_problem
from tests.shared.search_fixtures import LIBRARY, add_library


@pytest.fixture()
def library(db: str) -> dict[str, int]:
    """Store four links in English, German and Russian; return their ids by slug."""
    return add_library(**LIBRARY)


def _links(client: TestClient, **params: Any) -> dict[str, Any]:
    result = client.simulate_get("/api/links", params=params)
    assert result.status_code == 200, result.text
    page: dict[str, Any] = result.json["data"]
    r.LinkPage.model_validate(page)
    return page


def _slugs(client: TestClient, **params: Any) -> list[str]:
    return [link["url"].rsplit("/", 1)[1] for link in _links(client, **params)["links"]]


def test_links_are_listed_newest_first_with_what_the_stages_made(
    client: TestClient, library: dict[str, int]
) -> None:
    page = _links(client)

    assert page["total"] == 4
    assert (page["limit"], page["offset"]) == (50, 0)
    assert [link["id"] for link in page["links"]] == sorted(library.values(), reverse=True)
    solar = next(link for link in page["links"] if link["id"] == library["solar"])
    assert solar["title"] == LIBRARY["solar"]["title"]
    assert solar["summary"] == "Solar panel prices fell again."
    assert solar["category"] == "Science"
    assert solar["tags"] == ["energy", "solar"]
    assert solar["status"] == "published"
    assert solar["page"] == "export/solar.md"
    assert solar["publication"]["publisher"] == "markdown"


def test_a_german_word_finds_an_inflected_form_through_the_german_config(
    client: TestClient, library: dict[str, int]
) -> None:
    # The text says "Häuser"; the query says "Haus": both stem to "haus" in German.
    assert _slugs(client, q="Haus") == ["haeuser"]
    assert _slugs(client, q="Häuser Sommer") == ["haeuser"]
    # An English query is stemmed in English: "runs" finds "running".
    assert _slugs(client, q="runs") == ["solar"]
    # Russian: the singular finds the plural.
    assert _slugs(client, q="кошка") == ["koshki"]
    # Web search syntax: a phrase, an exclusion, OR.
    assert _slugs(client, q='"main lines"') == ["chess"]
    assert _slugs(client, q="energy -panels") == ["haeuser"]
    assert sorted(_slugs(client, q="Sicilian OR Fluss")) == ["chess", "haeuser"]
    assert _slugs(client, q="nothing-like-this") == []


def test_tag_category_and_status_filter_and_combine_with_the_query(
    client: TestClient, library: dict[str, int]
) -> None:
    assert _slugs(client, tag="Energy") == ["haeuser", "solar"]
    assert _slugs(client, tag="energy", q="Fluss") == ["haeuser"]
    assert _slugs(client, category="science") == ["koshki", "solar"]
    assert _slugs(client, status="published") == ["solar"]
    assert _slugs(client, status="enriched", category="Science") == ["koshki"]
    assert _slugs(client, tag="unknown") == []


def test_pages_follow_the_total(client: TestClient, library: dict[str, int]) -> None:
    first = _links(client, limit=3)
    second = _links(client, limit=3, offset=3)

    assert first["total"] == second["total"] == 4
    assert len(first["links"]) == 3 and len(second["links"]) == 1
    seen = [link["id"] for link in first["links"] + second["links"]]
    assert sorted(seen) == sorted(library.values())
    assert _links(client, offset=10)["links"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-1", "offset"),
        ("status=archived", "status"),
        ("q=" + "x" * 501, "q"),
        ("tag=a&tag=b", "tag"),
        ("sort=title", "sort"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(client: TestClient, query: str, field: str) -> None:
    assert_problem(client.simulate_get("/api/links", query_string=query), 400, field)


def test_a_link_is_read_with_each_stages_latest_outcome(
    client: TestClient, library: dict[str, int]
) -> None:
    link_id = library["chess"]
    task = Task.create(type="pipeline", stages=["parse", "enrich"], total_items=1)
    item = TaskItem.create(task=task, link=link_id, stage="enrich", status=Status.FAILED)
    StageRun.create(item=item, stage="parse", status=Status.COMPLETED, attempts=1)
    StageRun.create(item=item, stage="enrich", status=Status.FAILED, attempts=4, error="boom")

    data = client.simulate_get(f"/api/links/{link_id}").json["data"]

    r.Link.model_validate(data)
    assert list(data["stages"]) == ["parse", "enrich"]
    assert data["stages"]["parse"]["status"] == "completed"
    assert data["stages"]["enrich"] | {"finished_at": None} == {
        "status": "failed",
        "attempts": 4,
        "error": "boom",
        "finished_at": None,
        "task_id": task.id,
    }
