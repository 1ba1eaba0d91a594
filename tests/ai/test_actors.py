"""The enrich actor on an in-memory broker and real PostgreSQL, with the loopback model."""

from __future__ import annotations

from collections.abc import Iterator

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from services.ai import actors
from services.ai.providers.openai import OpenAIProvider
from shared import store
from shared.broker import build_broker
from shared.models import Enrichment
from shared.pipeline import ENRICH, actor_options
from shared.settings import Settings
from shared.tasks import TaskService
from tests.ai.conftest import ARTICLE_TEXT, MakeProvider
from tests.ai.openai_server import OpenAIServer


@pytest.fixture()
def broker(settings: Settings) -> Iterator[StubBroker]:
    stub = build_broker(settings, stub=True)
    assert isinstance(stub, StubBroker)
    dramatiq.actor(broker=stub, **actor_options(ENRICH, settings))(actors.enrich_item.fn)
    yield stub
    stub.close()


def _parsed_links(service: TaskService, count: int) -> list[int]:
    links = service.create_links([f"https://example.org/article/{n}" for n in range(count)])
    for link in links:
        store.save_content(
            link.id,
            final_url=link.url,
            title=f"Quantum chip {link.id}",
            text=ARTICLE_TEXT,
            authors=[],
            published_at=None,
            language="en",
            top_image=None,
            word_count=len(ARTICLE_TEXT.split()),
            content_hash=f"hash-{link.id}",
        )
    return [link.id for link in links]


def test_enriched_items_store_tokens_and_cost_that_the_task_usage_adds_up(
    broker: StubBroker,
    server: OpenAIServer,
    make_provider: MakeProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given two parsed links and the openai provider on the loopback server
    provider: OpenAIProvider = make_provider()
    monkeypatch.setattr(actors, "provider", lambda: provider)
    service = TaskService(broker)
    link_ids = _parsed_links(service, 2)

    # When a task enriches them
    task_id = service.create_task(link_ids=link_ids, stages=["enrich"])["task_id"]
    worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=2)
    worker.start()
    try:
        broker.join("ai", fail_fast=True, timeout=10_000)
        worker.join()
    finally:
        worker.stop()

    # Then each enrichment holds its usage and cost, and the task adds them up
    rows = list(Enrichment.select().where(Enrichment.link.in_(link_ids)))
    assert len(rows) == 2
    for row in rows:
        assert (row.provider, row.model) == ("openai", "gpt-4o-mini")
        assert row.prompt_tokens > 0 and row.completion_tokens > 0
        assert row.cost_usd == pytest.approx(
            (row.prompt_tokens * 0.15 + row.completion_tokens * 0.60) / 1e6
        )
    usage = service.get_task(task_id)["usage"]
    assert usage["prompt_tokens"] == sum(row.prompt_tokens for row in rows)
    assert usage["completion_tokens"] == sum(row.completion_tokens for row in rows)
    assert usage["cost_usd"] == pytest.approx(sum(row.cost_usd or 0.0 for row in rows), abs=1e-6)
    assert service.get_task(task_id)["status"] == "completed"


def test_popular_tags_are_read_once_for_articles_enriched_close_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[int] = []

    def popular_tags() -> list[str]:
        reads.append(1)
        return ["Python", "Climate"]

    monkeypatch.setattr(store, "popular_tags", popular_tags)
    monkeypatch.setattr(actors, "_popular", (float("-inf"), []))

    assert actors.popular_tags() == ["Python", "Climate"]
    assert actors.popular_tags() == ["Python", "Climate"]
    assert len(reads) == 1

    # Once they are older than POPULAR_TAGS_SECONDS, they are read again.
    monkeypatch.setattr(actors, "_popular", (float("-inf"), ["Python", "Climate"]))
    actors.popular_tags()
    assert len(reads) == 2
