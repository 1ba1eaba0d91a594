"""The publish actor on an in-memory broker and real PostgreSQL, with the loopback Notion API."""

from __future__ import annotations

from collections.abc import Iterator

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from services.notion import actors, progress
from services.notion.publishers.base import COMPLETE
from shared import store
from shared.blocks import Block
from shared.broker import build_broker
from shared.models import Link, StageRun, Task
from shared.pipeline import PUBLISH, actor_options
from shared.settings import Settings
from shared.tasks import TaskService
from tests.notion.conftest import PublisherFactory
from tests.notion.documents import structured_blocks
from tests.notion.notion_server import NotionServer


@pytest.fixture()
def broker(settings: Settings) -> Iterator[StubBroker]:
    stub = build_broker(settings, stub=True)
    assert isinstance(stub, StubBroker)
    dramatiq.actor(broker=stub, **actor_options(PUBLISH, settings))(actors.publish_item.fn)
    yield stub
    stub.close()


def enriched_links(service: TaskService, count: int, blocks: list[Block]) -> list[int]:
    links = service.create_links([f"https://example.org/article/{n}" for n in range(count)])
    for link in links:
        text = "\n".join(block["text"] for block in blocks)
        store.save_content(
            link.id,
            final_url=link.url,
            title=f"Article {link.id}",
            text=text,
            authors=["A. Writer"],
            published_at=None,
            language="en",
            top_image=None,
            word_count=len(text.split()),
            content_hash=f"hash-{link.id}",
            blocks=blocks,
        )
        store.save_enrichment(
            link.id,
            summary=f"Summary of {link.id}.",
            category="Technology",
            tags=["queues", "notion"],
            sentiment="neutral",
            sentiment_score=0.0,
            language="en",
            provider="local",
            model="local",
        )
    return [link.id for link in links]


def run(broker: StubBroker) -> None:
    worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=2)
    worker.start()
    try:
        broker.join("notion", fail_fast=True, timeout=30_000)
        worker.join()
    finally:
        worker.stop()


def test_a_task_publishes_each_link_as_one_complete_page(
    broker: StubBroker,
    notion_server: NotionServer,
    make_publisher: PublisherFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given three enriched links with structured articles
    monkeypatch.setattr(actors, "publisher", lambda: make_publisher())
    service = TaskService(broker)
    link_ids = enriched_links(service, 3, structured_blocks(2))

    # When a task publishes them
    task_id = service.create_task(link_ids=link_ids, stages=["publish"])["task_id"]
    run(broker)

    # Then each has one complete page holding its structure, and is published
    assert Task.get_by_id(task_id).status == "completed"
    assert len(notion_server.pages) == 3 and notion_server.duplicates() == {}
    for link_id in link_ids:
        publication = progress.load(link_id)
        assert publication is not None and publication.state == COMPLETE
        kinds = [kind for kind, _ in notion_server.content(publication.page_id)]
        assert kinds[:3] == ["callout", "heading_1", "paragraph"]
        assert "numbered_list_item" in kinds and "code" in kinds
        assert Link.get_by_id(link_id).status == "published"


def test_a_failed_append_is_retried_and_continues_the_same_page(
    broker: StubBroker,
    notion_server: NotionServer,
    make_publisher: PublisherFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an article of several requests whose first append answers 502 after landing
    monkeypatch.setattr(actors, "publisher", lambda: make_publisher())
    notion_server.inject("error_after", method="PATCH", path="/children$", status=502)
    service = TaskService(broker)
    blocks: list[Block] = [
        {"type": "paragraph", "text": f"Paragraph {n} " + "lorem ipsum " * 40} for n in range(2500)
    ]
    [link_id] = enriched_links(service, 1, blocks)

    # When it is published (the Retries middleware runs the second attempt)
    service.create_task(link_ids=[link_id], stages=["publish"])
    run(broker)

    # Then the second attempt appended only what was missing, to the same page
    [page_id] = notion_server.pages
    content = notion_server.content(page_id)
    assert [text for _, text in content[1:]] == [block["text"].strip() for block in blocks]
    assert StageRun.get(StageRun.stage == "publish").attempts == 2


def test_a_republish_task_keeps_the_users_edits_and_adopts_their_tags(
    broker: StubBroker,
    notion_server: NotionServer,
    make_publisher: PublisherFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a published link whose page the user edited in Notion
    publisher = make_publisher()
    monkeypatch.setattr(actors, "publisher", lambda: publisher)
    service = TaskService(broker)
    [link_id] = enriched_links(service, 1, structured_blocks(1))
    service.create_task(link_ids=[link_id], stages=["publish"])
    run(broker)
    first = progress.load(link_id)
    assert first is not None and first.written_properties is not None
    notion_server.user_set(first.page_id, "Category", {"select": {"name": "Mine"}})
    notion_server.user_set(
        first.page_id,
        "Tags",
        {"multi_select": [{"name": "queues"}, {"name": "notion"}, {"name": "to-read"}]},
    )
    notion_server.user_append(first.page_id, ["My note."])
    # and whose article changed since
    store.save_content(
        link_id,
        final_url=f"https://example.org/article/{link_id}",
        title="Rewritten",
        text="A new article.",
        authors=[],
        published_at=None,
        language="en",
        top_image=None,
        word_count=3,
        content_hash="new",
        blocks=[{"type": "paragraph", "text": "A new article."}],
    )

    # When a publish-only task runs again (what `kbm republish` and republish_failed make)
    task_id = service.create_task(link_ids=[link_id], stages=["publish"])["task_id"]
    run(broker)

    # Then the page holds the new article and everything the user did
    assert Task.get_by_id(task_id).status == "completed"
    assert list(notion_server.pages) == [first.page_id]
    assert notion_server.content(first.page_id) == [
        ("callout", f"Summary of {link_id}."),
        ("paragraph", "A new article."),
        ("paragraph", "My note."),
    ]
    properties = notion_server.pages[first.page_id]["properties"]
    assert properties["Category"] == {"select": {"name": "Mine"}}
    assert store.enrichment_of(link_id).tags == ["queues", "notion", "to-read"]
