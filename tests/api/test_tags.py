"""The tag vocabulary through the gateway: list with counts, merge and rename, republish."""

from __future__ import annotations

from falcon.testing import TestClient

from shared.db import database
from shared.models import Enrichment, Task
from tests.api.conftest import assert_problem
from tests.library import enriched_link


def _tags_of(link_id: int) -> list[str]:
    with database.connection_context():
        return list(Enrichment.get(Enrichment.link == link_id).tags)


def test_the_vocabulary_is_listed_most_used_first_with_counts(client: TestClient) -> None:
    enriched_link(1, ["qubits", "ML"], published=False)
    enriched_link(2, ["qubits"], published=False)

    page = client.simulate_get("/api/tags", params={"limit": 1}).json["data"]

    assert page["total"] == 2
    assert page["tags"] == [{"name": "qubits", "source": "ai", "uses": 2}]
    assert_problem(client.simulate_get("/api/tags", params={"limit": 0}), 400, "limit")


def test_a_merge_changes_every_link_and_publishes_the_published_ones_again(
    client: TestClient,
) -> None:
    published = enriched_link(1, ["ML", "qubits"], published=True)
    unpublished = enriched_link(2, ["machine learning"], published=False)

    answer = client.simulate_post(
        "/api/tags/merge", json={"tags": ["ML"], "into": "machine learning"}
    )

    assert answer.status_code == 200, answer.text
    data = answer.json["data"]
    assert (data["tag"], data["links"]) == ("machine learning", [published])
    (task_id,) = data["republish_tasks"]
    with database.connection_context():
        task = Task.get_by_id(task_id)
    assert (task.type, task.stages, task.total_items) == ("notion", ["publish"], 1)
    assert _tags_of(published) == ["machine learning", "qubits"]
    assert _tags_of(unpublished) == ["machine learning"]


def test_a_rename_changes_everyenriched_link(client: TestClient) -> None:
    first = enriched_link(1, ["chips", "qubits"], published=False)

    answer = client.simulate_post(
        "/api/tags/rename", json={"name": "chips", "to": "Semiconductors"}
    )

    assert answer.json["data"] == {"tag": "Semiconductors", "links": [first], "republish_tasks": []}
    assert _tags_of(first) == ["Semiconductors", "qubits"]
    # The search index follows: a query finds the link by the tag's new name only
    found = client.simulate_get("/api/links", params={"q": "semiconductors"}).json["data"]
    assert [link["id"] for link in found["links"]] == [first]
    gone = client.simulate_get("/api/links", params={"q": "chips"}).json["data"]
    assert gone["links"] == []


def test_unknown_tags_and_bad_bodies_are_refused(client: TestClient) -> None:
    enriched_link(1, ["qubits"], published=False)

    assert_problem(
        client.simulate_post("/api/tags/merge", json={"tags": ["nope"], "into": "qubits"}), 404
    )
    assert_problem(
        client.simulate_post("/api/tags/merge", json={"tags": [], "into": "qubits"}), 400, "tags"
    )
    assert_problem(
        client.simulate_post("/api/tags/rename", json={"name": "qubits", "to": "   "}), 400, "name"
    )
