from __future__ import annotations

import redis
from falcon.testing import TestClient

from shared.models import Link
from tests.api.conftest import assert_problem, urls


def test_posting_urls_creates_one_link_per_url_in_submission_order(client: TestClient) -> None:
    given = urls(3)

    result = client.simulate_post("/api/links", json={"urls": given})

    assert result.status_code == 201
    body = result.json
    assert body["success"] is True
    links = body["data"]["links"]
    assert [link["url"] for link in links] == given
    assert body["data"]["link_ids"] == [link["id"] for link in links]
    for link in links:
        assert set(link) >= {"id", "url", "normalized_url", "status", "created_at"}
        assert link["status"] == "new"
    assert Link.select().count() == 3


def test_urls_that_normalise_alike_give_one_link(client: TestClient) -> None:
    spellings = [
        "https://News.Example/a?utm_source=feed&b=2&a=1",
        "https://news.example:443/a?a=1&b=2#comments",
        "https://news.example/a?b=2&a=1&fbclid=xyz",
    ]

    first = client.simulate_post("/api/links", json={"urls": spellings}).json["data"]
    again = client.simulate_post("/api/links", json={"urls": spellings[:1]}).json["data"]

    assert len(first["links"]) == 1
    assert first["links"][0]["normalized_url"] == "https://news.example/a?a=1&b=2"
    assert again["link_ids"] == first["link_ids"]
    assert Link.select().count() == 1


def test_creating_links_sends_no_message(client: TestClient, redis_client: redis.Redis) -> None:
    client.simulate_post("/api/links", json={"urls": urls(2)})

    assert redis_client.llen("dramatiq:parsing") == 0


def test_a_link_is_read_with_its_stage_outputs(client: TestClient) -> None:
    link_id = client.simulate_post("/api/links", json={"urls": urls(1)}).json["data"]["link_ids"][0]

    result = client.simulate_get(f"/api/links/{link_id}")

    assert result.status_code == 200
    data = result.json["data"]
    assert data["id"] == link_id
    assert data["url"] == urls(1)[0]
    assert data["content"] is None
    assert data["enrichment"] is None
    assert data["publication"] is None


def test_an_unknown_link_is_a_404_problem(client: TestClient) -> None:
    problem = assert_problem(client.simulate_get("/api/links/4242"), 404)

    assert "4242" in problem["detail"]
