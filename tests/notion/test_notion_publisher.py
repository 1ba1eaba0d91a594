"""The Notion publisher against the loopback Notion API, which rejects what Notion rejects."""

from __future__ import annotations

import time
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.notion.blocks import CONTAINER
from services.notion.client import OutcomeUnknown
from services.notion.publishers.base import COMPLETE, CREATING, Publication
from services.notion.publishers.notion import NotionPublisher
from services.notion.richtext import clean, utf16_len
from shared.blocks import paragraphs_from_text
from shared.errors import ConfigurationError, PermanentError, PublishError, RateLimited
from tests.notion.conftest import PublisherFactory
from tests.notion.documents import (
    ODD_UNICODE,
    long_document,
    make_document,
    paragraphs_document,
)
from tests.notion.notion_server import NotionServer


class Store:
    """What the actor stores: the last reported publication, as the database would."""

    def __init__(self) -> None:
        self.current: Publication | None = None
        self.history: list[Publication | None] = []

    def __call__(self, publication: Publication | None) -> None:
        if publication is not None:
            publication = Publication(**{**vars(publication), "updated_at": time.time()})
        self.current = publication
        self.history.append(publication)


def expected_content(document: Any) -> list[tuple[str, str]]:
    kinds = {"paragraph": "paragraph", "quote": "quote", "code": "code"}
    content = [("callout", document.summary)] if document.summary.strip() else []
    for block in document.blocks or paragraphs_from_text(document.text):
        kind = block["type"]
        if kind == "heading":
            name = f"heading_{block['level']}"
        elif kind == "list_item":
            name = "numbered_list_item" if block.get("ordered") else "bulleted_list_item"
        else:
            name = kinds[kind]
        text = clean(block["text"]) if kind == "code" else clean(block["text"]).strip()
        content.append((name, text))
    return content


def metric(name: str, labels: dict[str, str] | None = None) -> float:
    """Return a metric's value in this process (0 before its first use)."""
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def page_requests(server: NotionServer) -> list[str]:
    """Return the writes the server saw, as "METHOD path-kind status"."""
    seen = []
    for record in server.requests():
        if record.path.startswith(("/v1/databases", "/v1/data_sources/", "/v1/users/me")) and (
            record.method == "GET"
        ):
            continue
        kind = record.path.split("/")[2]
        if record.path.endswith("/children"):
            kind = "children"
        elif record.path.endswith("/query"):
            kind = "query"
        seen.append(f"{record.method} {kind} {record.status}")
    return seen


def test_a_short_article_is_one_page_with_its_properties_in_one_request(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    store = Store()

    publication = make_publisher().publish(make_document(), None, progress=store)

    [page] = notion_server.pages.values()
    assert (
        publication.page_id,
        publication.page_url,
        publication.state,
        publication.blocks_written,
    ) == (page["id"], page["url"], COMPLETE, 1)  # one container holds the article
    assert store.current is not None
    assert store.current == Publication(
        **{**vars(publication), "updated_at": store.current.updated_at}
    )
    properties = page["properties"]
    assert properties["Name"]["title"][0]["text"]["content"] == "How Queues Work"
    assert properties["URL"] == {"url": "https://example.com/articles/kb?id=1&lang=en"}
    assert properties["Tags"]["multi_select"] == [
        {"name": "queues"},
        {"name": "redis"},
        {"name": "dramatiq"},
    ]
    assert properties["Category"] == {"select": {"name": "Technology"}}
    assert properties["Sentiment"] == {"select": {"name": "positive"}}
    assert properties["Summary"]["rich_text"][0]["text"]["content"] == (
        "Queues decouple producers from consumers."
    )
    assert properties["Author"]["rich_text"][0]["text"]["content"] == "Ada Lovelace, Grace Hopper"
    assert properties["Published"] == {"date": {"start": "2024-03-05"}}
    assert notion_server.content(page["id"]) == [
        ("callout", "Queues decouple producers from consumers."),
        ("paragraph", "First paragraph of the article."),
        ("paragraph", "Second paragraph, with detail."),
        ("paragraph", "Third one."),
    ]
    assert page_requests(notion_server) == ["POST pages 200"]


def test_the_database_is_resolved_to_its_data_source_once(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()

    for link_id in range(3):
        publisher.publish(make_document(link_id=link_id, url=f"https://e.com/{link_id}"), None)

    assert len(notion_server.requests("GET", "/v1/databases/")) == 1
    assert len(notion_server.requests("GET", "/v1/data_sources/")) == 1
    assert {page["parent"]["data_source_id"] for page in notion_server.pages.values()} == {
        notion_server.data_source_id
    }


def test_an_article_of_55000_characters_with_structure_takes_one_request(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    document = long_document(55_000)

    publication = make_publisher().publish(document, None)

    assert notion_server.content(publication.page_id) == expected_content(document)
    assert page_requests(notion_server) == ["POST pages 200"]
    top = notion_server.top_level(publication.page_id)
    assert {block["type"] for block in top} == {CONTAINER}


def test_an_article_larger_than_a_request_is_appended_in_order(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    document = paragraphs_document(3000, words=80)  # ~ 750 000 characters
    store = Store()

    publication = make_publisher().publish(document, None, progress=store)

    assert notion_server.content(publication.page_id) == expected_content(document)
    writes = page_requests(notion_server)
    assert writes[0] == "POST pages 200"
    assert set(writes[1:]) == {"PATCH children 200"}
    # ~ 1.6 MB of blocks at 450 KB per request: four requests, no more.
    assert len(writes) == 4
    written = [entry.blocks_written for entry in store.history if entry and entry.page_id]
    assert written == sorted(written)
    assert publication.blocks_written == len(notion_server.top_level(publication.page_id))


def test_odd_unicode_is_published_exactly_and_within_2000_units_per_text(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    text = (ODD_UNICODE + " ") * 120 + "東京" * 3000 + "👩‍👩‍👧‍👦" * 400
    document = make_document(
        title=ODD_UNICODE,
        summary=ODD_UNICODE,
        text=text,
        blocks=[{"type": "paragraph", "text": text}, {"type": "code", "text": ODD_UNICODE}],
        authors=[ODD_UNICODE],
        tags=[ODD_UNICODE[:40], "日本語", "emoji 👍🏽"],
    )

    publication = make_publisher().publish(document, None)

    content = notion_server.content(publication.page_id)
    # The paragraph is over 60 KB: it continues in a second block.
    assert [kind for kind, _ in content] == ["callout", "paragraph", "paragraph", "code"]
    assert content[1][1] + content[2][1] == clean(text).strip()
    assert content[3] == ("code", clean(ODD_UNICODE))
    containers = notion_server.top_level(publication.page_id)
    assert {block["type"] for block in containers} == {CONTAINER}
    for block in (
        notion_server.blocks[child]
        for key, container in notion_server.blocks.items()
        if container in containers
        for child in notion_server.children[key]
    ):
        for item in block[block["type"]]["rich_text"]:
            piece = item["text"]["content"]
            assert utf16_len(piece) <= 2000
            assert not piece.endswith("\u200d")
    page = notion_server.pages[publication.page_id]
    assert "\x00" not in page["properties"]["Name"]["title"][0]["text"]["content"]


def test_many_tags_become_at_most_100_options_without_commas(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    tags = [f"tag, number {index}" for index in range(150)] + ["x" * 300, "tag  number 0", ""]
    document = make_document(tags=tags, category="Science, Technology")

    publication = make_publisher().publish(document, None)

    page = notion_server.pages[publication.page_id]
    names = [option["name"] for option in page["properties"]["Tags"]["multi_select"]]
    assert len(names) == 100
    assert names[:2] == ["tag number 0", "tag number 1"]
    assert all("," not in name and len(name) <= 100 for name in names)
    assert page["properties"]["Category"] == {"select": {"name": "Science Technology"}}


def test_publishing_again_updates_the_properties_of_the_same_page(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    first = publisher.publish(make_document(), None)

    second = publisher.publish(make_document(tags=["new"], category="Science"), first)

    assert second.page_id == first.page_id
    assert len(notion_server.pages) == 1
    page = notion_server.pages[first.page_id]
    assert page["properties"]["Tags"]["multi_select"] == [{"name": "new"}]
    assert page["properties"]["Category"] == {"select": {"name": "Science"}}
    # The page is read first: a value the user changed there is not overwritten.
    assert page_requests(notion_server) == ["POST pages 200", "GET pages 200", "PATCH pages 200"]


def test_publishing_a_changed_article_rewrites_the_same_page(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    first = publisher.publish(make_document(), None)
    changed = make_document(summary="A newer summary.", text="Only one paragraph now.")

    second = publisher.publish(changed, first)

    assert second.page_id == first.page_id
    assert second.content_hash != first.content_hash
    assert notion_server.content(first.page_id) == [
        ("callout", "A newer summary."),
        ("paragraph", "Only one paragraph now."),
    ]
    assert len(notion_server.pages) == 1


def test_a_lost_create_response_is_found_by_url_instead_of_creating_again(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    # Given a long article whose create lands but whose answer never arrives
    notion_server.inject("lose", method="POST", path="^/v1/pages$")
    document = paragraphs_document(2000, words=80)
    publisher = make_publisher(create_settle=1.0)
    store = Store()

    with pytest.raises(OutcomeUnknown, match="creating the page"):
        publisher.publish(document, None, progress=store)
    assert store.current is not None and store.current.page_id == ""

    # When the retry runs before Notion has surely finished, it waits, sending nothing
    with pytest.raises(RateLimited) as caught:
        publisher.publish(document, store.current, progress=store)
    time.sleep(caught.value.retry_after)
    publication = publisher.publish(document, store.current, progress=store)

    # Then it found the page by its URL, once, and appended the rest: one page, complete
    assert len(notion_server.pages) == 1
    assert notion_server.content(publication.page_id) == expected_content(document)
    assert page_requests(notion_server)[:3] == [
        "POST pages 0",
        "POST query 200",
        "GET children 200",
    ]


def test_a_create_that_got_no_answer_and_made_no_page_is_sent_again_after_the_settle_time(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    notion_server.inject("hang", method="POST", path="^/v1/pages$", seconds=2.0)
    publisher = make_publisher(request_timeout=0.5, create_settle=1.0)
    store = Store()
    with pytest.raises(OutcomeUnknown):
        publisher.publish(make_document(), None, progress=store)

    # Too soon: Notion may still be working on the first create
    with pytest.raises(RateLimited) as caught:
        publisher.publish(make_document(), store.current, progress=store)
    assert 0 < caught.value.retry_after <= 1.0

    time.sleep(caught.value.retry_after)
    publication = publisher.publish(make_document(), store.current, progress=store)

    assert list(notion_server.pages) == [publication.page_id]
    # One look-up, once the outcome can be known
    assert page_requests(notion_server) == [
        "POST pages 0",
        "POST query 200",
        "POST pages 200",
    ]


@pytest.mark.parametrize(
    ("action", "applied"),
    [("error_after", True), ("error", False), ("lose", True), ("hang", False)],
)
def test_a_fault_mid_page_is_resumed_without_a_missing_or_repeated_block(
    notion_server: NotionServer, make_publisher: PublisherFactory, action: str, applied: bool
) -> None:
    # Given an article of four requests (a create, three appends) whose second append
    # fails in some way
    notion_server.inject(
        action, method="PATCH", path="/children$", skip=1, status=502, code="bad_gateway"
    )
    document = paragraphs_document(3000, words=80)
    publisher = make_publisher(request_timeout=0.5)
    store = Store()
    with pytest.raises(OutcomeUnknown, match="appending blocks"):
        publisher.publish(document, None, progress=store)
    assert store.current is not None and store.current.state == CREATING

    publication = publisher.publish(document, store.current, progress=store)

    assert len(notion_server.pages) == 1
    assert notion_server.content(publication.page_id) == expected_content(document)
    # Three appends in all: the failed one was sent again only if it had not landed.
    appends = notion_server.requests("PATCH", "/children$", status=200)
    assert len(appends) == (2 if applied else 3)


def test_a_page_whose_own_blocks_do_not_match_is_rewritten_keeping_the_users_blocks(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    document = paragraphs_document(3000, words=80)  # four requests
    first = publisher.publish(document, None)
    # Its first container changed type, and the user added a note at the end
    with notion_server.lock:
        block = notion_server.blocks[notion_server.children[first.page_id][0]]
        block["type"] = "toggle"
        block["toggle"] = {"rich_text": []}
    notion_server.user_append(first.page_id, ["My note."])
    unfinished = Publication(**{**vars(first), "state": CREATING, "blocks_written": 2})

    publication = publisher.publish(document, unfinished)

    assert notion_server.content(publication.page_id) == [
        *expected_content(document),
        ("paragraph", "My note."),
    ]


def test_a_page_deleted_in_notion_is_created_again(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    first = publisher.publish(make_document(), None)
    with notion_server.lock:
        del notion_server.pages[first.page_id]

    second = publisher.publish(make_document(), first)

    assert second.page_id != first.page_id
    assert list(notion_server.pages) == [second.page_id]


def test_a_page_in_the_trash_fails_with_what_to_do(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    first = publisher.publish(make_document(), None)
    notion_server.pages[first.page_id]["in_trash"] = True

    with pytest.raises(PermanentError, match=r"in Notion's trash.*Restore it"):
        publisher.publish(make_document(tags=["changed"]), first)


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (529, "service_overload")])
def test_a_rate_limit_or_overload_answer_makes_every_worker_wait_and_then_succeeds(
    notion_server: NotionServer, make_publisher: PublisherFactory, status: int, code: str
) -> None:
    notion_server.inject("error", method="POST", status=status, code=code, retry_after=1)
    publisher = make_publisher()
    started = time.monotonic()
    reason = {"reason": "overload" if status == 529 else "connection"}
    counted = metric("kbm_notion_rate_limited_total", reason)
    refused = metric("kbm_notion_requests_total", {"status": str(status)})

    publication = publisher.publish(make_document(), None)

    assert time.monotonic() - started >= 1.0
    assert list(notion_server.pages) == [publication.page_id]
    assert page_requests(notion_server) == [f"POST pages {status}", "POST pages 200"]
    assert publisher.api.limiter.paused_for() == 0
    assert metric("kbm_notion_rate_limited_total", reason) == counted + 1
    assert metric("kbm_notion_requests_total", {"status": str(status)}) == refused + 1


def test_waiting_past_the_time_limit_ends_the_attempt_as_rate_limited(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    notion_server.inject("error", method="POST", status=429, code="rate_limited", retry_after=30)
    publisher = make_publisher()
    store = Store()
    publisher.data_source()

    with pytest.raises(RateLimited) as caught:
        publisher.publish(make_document(), None, progress=store, deadline=time.time() + 5)

    assert caught.value.retry_after > 20
    # The 429 proves no page was made: the next attempt need not look for one.
    assert store.current is None
    assert notion_server.pages == {}


def test_reads_are_retried_after_a_server_error(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    notion_server.inject("error", method="GET", path="/v1/databases/", status=503, times=2)
    publisher = make_publisher()
    waits: list[float] = []
    publisher.api.sleep = waits.append

    publisher.publish(make_document(), None)

    assert [record.status for record in notion_server.requests("GET", "/v1/databases/")] == [
        503,
        503,
        200,
    ]
    assert waits == [1.0, 2.0]


def test_a_wrong_token_is_a_configuration_error_naming_notion_token(
    make_publisher: PublisherFactory,
) -> None:
    with pytest.raises(ConfigurationError, match=r"NOTION_TOKEN \(401 unauthorized"):
        make_publisher(token="not-the-token").publish(make_document(), None)


def test_a_database_not_shared_with_the_integration_says_how_to_share_it(
    make_publisher: PublisherFactory,
) -> None:
    publisher = make_publisher(database_id="0" * 32)

    with pytest.raises(ConfigurationError) as caught:
        publisher.publish(make_document(), None)

    assert "NOTION_DATABASE_ID=" + "0" * 32 in str(caught.value)
    assert "Connections" in str(caught.value)


def test_a_data_source_id_given_as_the_database_id_works(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher(database_id=notion_server.data_source_id)

    publication = publisher.publish(make_document(), None)

    assert notion_server.pages[publication.page_id]["parent"]["data_source_id"] == (
        notion_server.data_source_id
    )


def test_a_database_with_several_data_sources_needs_one_chosen(
    make_publisher: PublisherFactory,
) -> None:
    with NotionServer(rate=1000, data_sources=2) as server:
        with pytest.raises(ConfigurationError, match="set NOTION_DATA_SOURCE_ID"):
            make_publisher(server).publish(make_document(), None)

        chosen = server.data_source_ids[1]
        publication = make_publisher(server, data_source_id=chosen).publish(make_document(), None)

        assert server.pages[publication.page_id]["parent"]["data_source_id"] == chosen


def test_the_workspace_block_limit_fails_with_what_to_do(make_publisher: PublisherFactory) -> None:
    with (
        NotionServer(rate=1000, block_limit=3) as server,
        pytest.raises(PermanentError, match=r"block limit.*Upgrade the workspace's plan"),
    ):
        make_publisher(server).publish(make_document(), None)


def test_a_rejected_request_fails_for_good_with_notions_message(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    notion_server.inject("error", method="POST", status=400, code="validation_error")

    with pytest.raises(PermanentError, match=r"validation_error.*kbm doctor") as caught:
        make_publisher().publish(make_document(), None)

    assert not isinstance(caught.value, PublishError)


def test_a_conflict_is_retryable(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    notion_server.inject("error", method="POST", status=409, code="conflict_error")

    with pytest.raises(PublishError, match="conflict"):
        make_publisher().publish(make_document(), None)


def test_a_url_longer_than_notion_allows_is_a_permanent_error(
    make_publisher: PublisherFactory,
) -> None:
    document = make_document(url="https://example.com/" + "a" * 2000)

    with pytest.raises(PermanentError, match="longer than the 2000 characters"):
        make_publisher().publish(document, None)


def test_the_publisher_reports_where_it_publishes(make_publisher: PublisherFactory) -> None:
    publisher = make_publisher()

    assert isinstance(publisher, NotionPublisher)
    assert publisher.name == "notion"


def test_a_create_that_could_not_connect_is_tried_again_and_leaves_no_marker(
    make_publisher: PublisherFactory,
) -> None:
    server = NotionServer(rate=1000)
    publisher = make_publisher(server)
    publisher.data_source()
    publisher.api.sleep = lambda seconds: None
    server.close()
    store = Store()

    with pytest.raises(PublishError, match="cannot connect to Notion") as caught:
        publisher.publish(make_document(), None, progress=store)

    # Never sent: not an unknown outcome, and nothing for the next attempt to look up
    assert not isinstance(caught.value, OutcomeUnknown)
    assert store.current is None
