"""The loopback Notion API itself: it must refuse what Notion refuses, as Notion does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.notion.notion_server import NOTION_VERSION, NotionServer


@pytest.fixture()
def client(notion_server: NotionServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {notion_server.token}", "Notion-Version": NOTION_VERSION}
    with httpx.Client(base_url=notion_server.base_url, headers=headers, timeout=10) as http:
        yield http


def paragraph(text: str = "text", **extra: Any) -> dict[str, Any]:
    return {"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": text}}], **extra}}


def create(client: httpx.Client, server: NotionServer, **body: Any) -> httpx.Response:
    payload: dict[str, Any] = {
        "parent": {"type": "data_source_id", "data_source_id": server.data_source_id}
    }
    payload.setdefault("properties", {"URL": {"url": "https://e.com/"}})
    return client.post("/v1/pages", json={**payload, **body})


def assert_validation_error(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 400
    body = response.json()
    assert (body["object"], body["status"], body["code"]) == ("error", 400, "validation_error")
    assert fragment in body["message"]


@pytest.mark.parametrize(
    ("children", "fragment"),
    [
        ([paragraph("x" * 2001)], "text.content.length should be ≤ `2000`, instead was `2001`"),
        ([paragraph("😀" * 1001)], "instead was `2002`"),  # UTF-16 units, as Notion counts
        (
            [{"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "a"}}] * 101}}],
            "rich_text.length should be ≤ `100`",
        ),
        ([paragraph()] * 101, "body.children.length should be ≤ `100`"),
        (
            [paragraph(children=[paragraph(children=[paragraph()])])],
            "at most 2 levels of nesting",
        ),
        (
            [
                {
                    "type": "synced_block",
                    "synced_block": {"synced_from": None, "children": [paragraph()] * 100},
                }
            ]
            * 10,
            "holds 1010 blocks, more than 1000",
        ),
        (
            [{"type": "heading_1", "heading_1": {"rich_text": [], "children": [paragraph()]}}],
            "children should be not present",
        ),
        ([{"type": "image", "image": {}}], "no supported block type"),
    ],
)
def test_each_block_limit_is_a_validation_error(
    client: httpx.Client, notion_server: NotionServer, children: list[Any], fragment: str
) -> None:
    assert_validation_error(create(client, notion_server, children=children), fragment)
    assert notion_server.pages == {}


def test_a_body_over_500_kb_is_a_validation_error(
    client: httpx.Client, notion_server: NotionServer
) -> None:
    children = [
        {
            "type": "synced_block",
            "synced_block": {"synced_from": None, "children": [paragraph("x" * 2000)] * 100},
        }
    ] * 3

    assert_validation_error(
        create(client, notion_server, children=children), "exceeds the limit of 500000 bytes"
    )


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        ({"Tags": {"multi_select": [{"name": "a,b"}]}}, "should not contain commas"),
        (
            {"Tags": {"multi_select": [{"name": f"t{n}"} for n in range(101)]}},
            "length should be ≤ `100`",
        ),
        ({"Category": {"select": {"name": "x" * 101}}}, "name.length should be ≤ `100`"),
        ({"URL": {"url": "https://e.com/" + "a" * 2000}}, "url.length should be ≤ `2000`"),
        ({"Missing": {"url": "https://e.com/"}}, "Missing is not a property that exists"),
        ({"URL": {"rich_text": []}}, "URL is expected to be url"),
        ({"Published": {"date": {"start": "yesterday"}}}, "should be an ISO 8601 date"),
    ],
)
def test_each_property_limit_is_a_validation_error(
    client: httpx.Client, notion_server: NotionServer, properties: dict[str, Any], fragment: str
) -> None:
    assert_validation_error(create(client, notion_server, properties=properties), fragment)


def test_a_page_is_created_appended_to_listed_and_found_by_its_url(
    client: httpx.Client, notion_server: NotionServer
) -> None:
    page = create(client, notion_server, children=[paragraph("one")]).json()

    appended = client.patch(
        f"/v1/blocks/{page['id']}/children", json={"children": [paragraph("two")]}
    )
    listed = client.get(f"/v1/blocks/{page['id']}/children", params={"page_size": 1}).json()
    query = {"filter": {"property": "URL", "url": {"equals": "https://e.com/"}}}
    found = client.post(f"/v1/data_sources/{notion_server.data_source_id}/query", json=query)

    assert appended.status_code == 200
    assert listed["has_more"] is True and len(listed["results"]) == 1
    assert [result["id"] for result in found.json()["results"]] == [page["id"]]
    assert notion_server.content(page["id"]) == [("paragraph", "one"), ("paragraph", "two")]


def test_auth_and_version_are_checked(notion_server: NotionServer) -> None:
    with httpx.Client(base_url=notion_server.base_url) as http:
        unauthorized = http.get(
            f"/v1/databases/{notion_server.database_id}",
            headers={"Authorization": "Bearer wrong", "Notion-Version": NOTION_VERSION},
        )
        unversioned = http.get(
            f"/v1/databases/{notion_server.database_id}",
            headers={"Authorization": f"Bearer {notion_server.token}"},
        )

    assert (unauthorized.status_code, unauthorized.json()["code"]) == (401, "unauthorized")
    assert (unversioned.status_code, unversioned.json()["code"]) == (400, "missing_version")


def test_requests_beyond_the_bucket_get_429_with_retry_after(
    client: httpx.Client, notion_server: NotionServer
) -> None:
    notion_server.set_rate(3.0, burst=3)

    statuses = [client.get(f"/v1/databases/{notion_server.database_id}") for _ in range(4)]

    assert [response.status_code for response in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()["code"] == "rate_limited"
    assert statuses[-1].headers["Retry-After"] == "1"


def test_an_unknown_database_is_object_not_found(client: httpx.Client) -> None:
    response = client.get("/v1/databases/" + "0" * 32)

    assert (response.status_code, response.json()["code"]) == (404, "object_not_found")


def test_users_me_names_the_bot_user_and_its_workspace(
    client: httpx.Client, notion_server: NotionServer
) -> None:
    me = client.get("/v1/users/me").json()

    assert (me["object"], me["type"], me["id"]) == ("user", "bot", notion_server.bot_id)
    assert me["bot"]["workspace_id"] == notion_server.workspace_id


def test_blocks_say_who_created_them_and_a_delete_moves_one_to_the_trash(
    client: httpx.Client, notion_server: NotionServer
) -> None:
    page = create(client, notion_server, children=[paragraph("ours")]).json()
    [theirs] = notion_server.user_append(page["id"], ["theirs"])
    blocks = client.get(f"/v1/blocks/{page['id']}/children").json()["results"]
    assert [block["created_by"]["id"] for block in blocks] == [
        notion_server.bot_id,
        notion_server.user_id,
    ]

    deleted = client.delete(f"/v1/blocks/{blocks[0]['id']}")
    again = client.delete(f"/v1/blocks/{blocks[0]['id']}")

    assert deleted.status_code == 200 and deleted.json()["in_trash"] is True
    assert_validation_error(again, "archived")
    assert notion_server.children[page["id"]] == [theirs]


def test_the_workspace_limit_answers_429_naming_it(notion_server: NotionServer) -> None:
    notion_server.set_workspace_rate(1, burst=1)
    other = notion_server.add_integration(rate=100)
    answers = []
    for token in (notion_server.token, other):
        headers = {"Authorization": f"Bearer {token}", "Notion-Version": NOTION_VERSION}
        answers.append(httpx.get(f"{notion_server.base_url}/v1/users/me", headers=headers))

    assert answers[0].status_code == 200
    assert answers[1].status_code == 429
    assert answers[1].json()["additional_data"] == {"rate_limit_reason": "workspace"}
    assert int(answers[1].headers["Retry-After"]) >= 1


def test_a_fault_every_nth_request(client: httpx.Client, notion_server: NotionServer) -> None:
    notion_server.inject(
        "error", every=3, times=10, status=529, code="service_overload", retry_after=2
    )

    statuses = [client.get("/v1/users/me").status_code for _ in range(6)]

    assert statuses == [200, 200, 529, 200, 200, 529]
