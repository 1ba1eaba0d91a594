"""Both of Notion's rate limits, overload, and the answers that surely created nothing."""

from __future__ import annotations

import time
import uuid

import pytest
from prometheus_client import REGISTRY

from services.notion.client import NotionAPI
from services.notion.publishers.notion import NotionPublisher
from shared.errors import KbmError, PublishError, RateLimited
from tests.notion.conftest import PublisherFactory, make_api
from tests.notion.documents import make_document
from tests.notion.notion_server import NotionServer
from tests.notion.test_notion_publisher import Store, expected_content
from tests.notion.test_rate_limit import publish_in_threads


def rate_limited(reason: str) -> float:
    return REGISTRY.get_sample_value("kbm_notion_rate_limited_total", {"reason": reason}) or 0.0


def test_a_529_burst_and_a_workspace_429_burst_mid_run_lose_nothing_and_repeat_nothing(
    make_publisher: PublisherFactory,
) -> None:
    with NotionServer(rate=1000) as server:
        publishers = [make_publisher(server) for _ in range(3)]
        overloads, workspace = rate_limited("overload"), rate_limited("workspace")
        # Mid-run: three creates answered 529, then three requests refused by the
        # workspace's limit (each with Retry-After: 1)
        server.inject(
            "error",
            method="POST",
            path="^/v1/pages$",
            skip=3,
            times=3,
            status=529,
            code="service_overload",
            retry_after=1,
        )
        server.inject(
            "error",
            skip=14,
            times=3,
            status=429,
            code="rate_limited",
            retry_after=1,
            reason="workspace",
        )

        errors = publish_in_threads(publishers, 4)

        assert errors == []
        assert len(server.pages) == 12 and server.duplicates() == {}
        for page in server.pages.values():
            url = page["properties"]["URL"]["url"]
            number, index = url.rsplit("/", 2)[-2:]
            document = make_document(link_id=int(number) * 100 + int(index), url=url)
            assert server.content(page["id"]) == expected_content(document)
        assert rate_limited("overload") == overloads + 3
        assert rate_limited("workspace") == workspace + 3
        # After a workspace 429, nobody sent until its Retry-After had passed
        for answer in server.requests(status=429):
            assert not [
                record
                for record in server.requests()
                if answer.at + 0.15 < record.at < answer.at + 0.95
            ]


def test_two_integrations_of_one_workspace_share_its_budget() -> None:
    # Given a workspace limited to 3 requests/s and two integrations each allowed 100
    with NotionServer(rate=100, workspace_rate=3, burst=1) as server:
        server.set_workspace_rate(3, burst=3)
        other = server.add_integration(rate=100)
        apis: list[NotionAPI] = [
            make_api(server, bucket=uuid.uuid4().hex, rate=100, workspace_rate=3),
            make_api(server, bucket=uuid.uuid4().hex, rate=100, token=other, workspace_rate=3),
        ]
        publishers = [NotionPublisher(api, server.database_id) for api in apis]
        for publisher in publishers:
            publisher.data_source()
        started = len(server.requests())

        errors = publish_in_threads(publishers, 5)

        # Then they kept to the workspace's 3/s together: no 429 at all
        assert errors == []
        records = server.requests()[started:]
        assert [record.status for record in records] == [200] * len(records)
        assert len(server.pages) == 10 and server.duplicates() == {}
        span = records[-1].at - records[0].at
        assert (len(records) - 1) / span == pytest.approx(3.0, rel=0.15)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "validation_error"), (409, "conflict_error"), (404, "object_not_found")],
)
def test_a_create_refused_outright_leaves_no_marker_and_is_not_looked_up(
    notion_server: NotionServer, make_publisher: PublisherFactory, status: int, code: str
) -> None:
    notion_server.inject("error", method="POST", path="^/v1/pages$", status=status, code=code)
    publisher = make_publisher(create_settle=30.0)
    store = Store()

    with pytest.raises(KbmError):
        publisher.publish(make_document(), None, progress=store)
    assert store.current is None  # surely no page: nothing to look for

    publication = publisher.publish(make_document(), store.current, progress=store)

    assert list(notion_server.pages) == [publication.page_id]
    assert not notion_server.requests("POST", "/query$")


def test_a_create_answered_503_is_looked_up_once_after_the_settle_time(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    notion_server.inject(
        "error", method="POST", path="^/v1/pages$", status=503, code="service_unavailable"
    )
    publisher = make_publisher(create_settle=1.0)
    store = Store()
    with pytest.raises(PublishError):
        publisher.publish(make_document(), None, progress=store)
    assert store.current is not None and store.current.page_id == ""

    # Too soon: it waits for the settle time without a request
    with pytest.raises(RateLimited) as caught:
        publisher.publish(make_document(), store.current, progress=store)
    assert not notion_server.requests("POST", "/query$")
    time.sleep(caught.value.retry_after)

    publication = publisher.publish(make_document(), store.current, progress=store)

    assert list(notion_server.pages) == [publication.page_id]
    assert len(notion_server.requests("POST", "/query$")) == 1
    assert len(notion_server.requests("POST", "^/v1/pages$")) == 2
