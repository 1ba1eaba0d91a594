"""The user's edits in Notion are theirs: a republish keeps them, and their tags come back.

Against the loopback Notion, where ``user_*`` helpers edit as a person in Notion's app
would: a property value, a new property, a paragraph, a tag.
"""

from __future__ import annotations

import datetime

from services.notion import progress
from services.notion.publish import document_for
from services.notion.readback import sync_notion
from shared import store
from shared.models import Content, Enrichment, Link
from tests.notion.conftest import PublisherFactory
from tests.notion.documents import make_document, paragraphs_document
from tests.notion.notion_server import DEFAULT_SCHEMA, NotionServer
from tests.notion.test_notion_publisher import Store, expected_content


def tags_of(server: NotionServer, page_id: str) -> list[str]:
    return [
        option["name"] for option in server.pages[page_id]["properties"]["Tags"]["multi_select"]
    ]


def test_a_republish_keeps_the_users_value_property_paragraphs_and_tags(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    store_ = Store()
    first = publisher.publish(make_document(), None, progress=store_)
    page_id = first.page_id
    # As a user would: fix the category, rate it, tag it, write notes around the article
    notion_server.user_set(page_id, "Category", {"select": {"name": "Reading list"}})
    notion_server.user_add_property("Rating", "number")
    notion_server.user_set(page_id, "Rating", {"number": 5})
    notion_server.user_set(
        page_id,
        "Tags",
        {"multi_select": [{"name": "queues"}, {"name": "dramatiq"}, {"name": "mine"}]},
    )  # "redis" removed, "mine" added
    notion_server.user_append(page_id, ["My note before."], at_start=True)
    notion_server.user_append(page_id, ["My note after."])
    user_blocks = [
        key for key, block in notion_server.blocks.items() if block["type"] == "paragraph"
    ]
    user_blocks = [
        key
        for key in user_blocks
        if notion_server.blocks[key]["created_by"] != notion_server.bot_id
    ]

    # When the article changes and the link is published again
    changed = make_document(
        summary="A newer summary.",
        text="Only one paragraph now.",
        category="Science",
        tags=["queues", "redis", "new"],
        sentiment="negative",
    )
    second = publisher.publish(changed, store_.current, progress=store_)

    # Then the article is the new one, in the same page, and every edit of the user stayed
    assert second.page_id == page_id and list(notion_server.pages) == [page_id]
    assert notion_server.content(page_id) == [
        ("paragraph", "My note before."),
        ("callout", "A newer summary."),
        ("paragraph", "Only one paragraph now."),
        ("paragraph", "My note after."),
    ]
    properties = notion_server.pages[page_id]["properties"]
    assert properties["Category"] == {"select": {"name": "Reading list"}}  # the user's
    assert properties["Rating"] == {"number": 5}
    assert properties["Sentiment"] == {"select": {"name": "negative"}}  # still ours
    # Ours now, without the one the user removed (redis), and the user's own (mine);
    # dramatiq was ours and the article no longer has it
    assert tags_of(notion_server, page_id) == ["queues", "new", "mine"]
    assert second.page_tags == ["queues", "new", "mine"]
    # No page was trashed; only blocks the integration wrote were removed
    assert notion_server.trashed_pages == set()
    assert all(
        block["created_by"] == notion_server.bot_id
        for block in notion_server.trashed_blocks.values()
    )
    assert all(key in notion_server.blocks for key in user_blocks)
    assert not notion_server.requests("PATCH", "/v1/pages/", status=400)


def test_a_value_the_user_did_not_change_follows_the_article(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    first = publisher.publish(make_document(), None)

    publisher.publish(make_document(category="Science"), first)

    properties = notion_server.pages[first.page_id]["properties"]
    assert properties["Category"] == {"select": {"name": "Science"}}


def test_a_republish_without_changes_sends_only_a_read(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    first = publisher.publish(make_document(), None)
    before = len(notion_server.requests())

    publisher.publish(make_document(), first)

    assert [(r.method, r.path.split("/")[2]) for r in notion_server.requests()[before:]] == [
        ("GET", "pages")
    ]


def test_a_long_article_is_replaced_with_the_users_paragraph_between_containers_kept(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    document = paragraphs_document(3000, words=80)
    first = publisher.publish(document, None)
    containers = notion_server.children[first.page_id]
    [between] = notion_server.user_append(first.page_id, ["Between."], after=containers[1])

    changed = paragraphs_document(40, words=20)
    publisher.publish(changed, first)

    content = notion_server.content(first.page_id)
    assert ("paragraph", "Between.") in content
    assert [entry for entry in content if entry != ("paragraph", "Between.")] == (
        expected_content(changed)
    )
    assert between in notion_server.blocks


def test_the_page_type_goes_to_a_type_property_when_the_database_has_one(
    make_publisher: PublisherFactory,
) -> None:
    schema = {**DEFAULT_SCHEMA, "Type": "select"}
    with NotionServer(rate=1000, schema=schema) as server:
        publisher = make_publisher(server)

        publication = publisher.publish(make_document(page_type="documentation"), None)

        properties = server.pages[publication.page_id]["properties"]
        assert properties["Type"] == {"select": {"name": "documentation"}}


def test_an_imported_link_s_saved_date_and_status_reach_their_properties(
    db: str, make_publisher: PublisherFactory
) -> None:
    # Given a link imported with its saved date, status and the user's own tags
    link = Link.create(
        url="https://example.com/saved",
        normalized_url="https://example.com/saved",
        saved_at=datetime.datetime(2021, 3, 4, 5, 6, 7),
        read_status="archived",
        user_tags=["reading list"],
    )
    content = Content.create(
        link=link,
        final_url=link.url,
        title="Saved",
        text="Kept for later. " * 20,
        word_count=60,
        content_hash="saved",
    )
    store.save_enrichment(
        link.id,
        summary="S.",
        category="Technology",
        tags=["queues"],
        sentiment="neutral",
        sentiment_score=0.0,
        language="en",
        provider="local",
        model="local",
    )
    document = document_for(link, content, store.enrichment_of(link.id))
    schema = {**DEFAULT_SCHEMA, "Saved": "date", "Status": "select"}
    with NotionServer(rate=1000, schema=schema) as server:
        # When it is published into a database with Saved and Status properties
        publication = make_publisher(server).publish(document, None)

        # Then they hold the user's date and status, and the user's tag is among the tags
        properties = server.pages[publication.page_id]["properties"]
        assert properties["Saved"]["date"]["start"] == "2021-03-04"
        assert properties["Status"] == {"select": {"name": "archived"}}
        names = [option["name"] for option in properties["Tags"]["multi_select"]]
        assert names == ["reading list", "queues"]


def test_sync_notion_makes_the_tags_the_user_added_the_links_tags(
    db: str, notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    link = Link.create(url="https://example.com/a", normalized_url="https://example.com/a")
    store.save_enrichment(
        link.id,
        summary="S.",
        category="Technology",
        tags=["queues", "redis"],
        sentiment="neutral",
        sentiment_score=0.0,
        language="en",
        provider="local",
        model="local",
    )
    publisher = make_publisher()
    publication = publisher.publish(make_document(link_id=link.id, tags=["queues", "redis"]), None)
    progress.finish(link.id, publication)
    notion_server.user_set(
        publication.page_id,
        "Tags",
        {"multi_select": [{"name": "queues"}, {"name": "redis"}, {"name": "to-read"}]},
    )

    report = sync_notion(publisher)

    assert report.read == 1 and report.changed == [link.id]
    assert Enrichment.get(Enrichment.link == link.id).tags == ["queues", "redis", "to-read"]
    assert sync_notion(publisher).changed == []  # nothing new the second time


def test_the_users_tags_stay_theirs_whatever_the_links_tags_become(
    notion_server: NotionServer, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher()
    store_ = Store()
    first = publisher.publish(make_document(tags=["queues", "redis"]), None, progress=store_)
    # The user removes one of the integration's tags and adds one
    notion_server.user_set(
        first.page_id, "Tags", {"multi_select": [{"name": "queues"}, {"name": "mine"}]}
    )

    publisher.publish(make_document(tags=["queues", "redis"]), store_.current, progress=store_)
    assert tags_of(notion_server, first.page_id) == ["queues", "mine"]
    # The link's tags change entirely (enriched again), then come back
    publisher.publish(make_document(tags=["other"]), store_.current, progress=store_)
    assert tags_of(notion_server, first.page_id) == ["other", "mine"]
    publisher.publish(make_document(tags=["redis", "other"]), store_.current, progress=store_)

    assert tags_of(notion_server, first.page_id) == ["other", "mine"]
