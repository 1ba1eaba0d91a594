"""The parse actor on an in-memory broker and real PostgreSQL, with pages on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from services.parser import actors
from services.parser import worker as parser_worker
from services.parser.extract import warm_up
from shared import language
from shared.broker import build_broker
from shared.middleware.tracking import ItemTracking
from shared.models import Content, Link, TaskItem
from shared.pipeline import PARSE, actor_options
from shared.settings import Settings
from shared.tasks import TaskService
from tests.parser.conftest import LoopbackSite
from tests.parser.test_extract import PARAGRAPHS, handmade_page


@pytest.fixture()
def broker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubBroker]:
    stub = build_broker(settings, stub=True)
    assert isinstance(stub, StubBroker)
    monkeypatch.setattr(actors, "get_settings", lambda: settings)
    dramatiq.actor(broker=stub, **actor_options(PARSE, settings))(actors.parse_item.fn)
    yield stub
    stub.close()


def run_parse(broker: StubBroker, urls: list[str]) -> int:
    task_id = int(TaskService(broker).create_task(urls=urls, stages=["parse"])["task_id"])
    worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=1)
    worker.start()
    try:
        broker.join("parsing", fail_fast=False, timeout=30_000)
        worker.join()
    finally:
        worker.stop()
    return task_id


def test_the_article_is_stored_with_blocks_and_canonical_url_and_a_repeat_is_a_duplicate(
    broker: StubBroker, site: LoopbackSite, caplog: pytest.LogCaptureFixture
) -> None:
    # Given one article served at two addresses that both name it canonical
    page = handmade_page(head='<link rel="canonical" href="https://news.example.com/lighthouses">')
    first = site.add("/2024/lighthouses", page)
    second = site.add("/amp/lighthouses", page)

    # When both links are parsed, one after the other
    with caplog.at_level(logging.INFO, logger=actors.__name__):
        run_parse(broker, [first])
        run_parse(broker, [second])

    # Then both hold the article; the second is reported as a duplicate of the first
    first_link = Link.get(Link.url == first)
    second_link = Link.get(Link.url == second)
    stored = Content.get(Content.link == first_link.id)
    repeat = Content.get(Content.link == second_link.id)
    assert stored.blocks == [{"type": "paragraph", "text": text} for text in PARAGRAPHS]
    assert stored.canonical_url == "https://news.example.com/lighthouses"
    assert stored.page_type == "article"
    assert stored.title == "The quiet life of lighthouses"
    assert stored.duplicate_of_id is None
    assert repeat.duplicate_of_id == first_link.id
    assert repeat.content_hash == stored.content_hash
    assert f"holds the same article as link {first_link.id}" in caplog.text


def test_a_missing_page_fails_the_item_at_once_with_the_reason(
    broker: StubBroker, site: LoopbackSite
) -> None:
    url = site.url("/gone")

    task_id = run_parse(broker, [url])

    (item,) = TaskItem.select().where(TaskItem.task == task_id)
    assert item.status == "failed"
    assert "HTTP 404 Not Found: the page does not exist" in (item.error or "")
    assert site.hits == ["/gone"]


def test_a_parser_worker_loads_the_language_model_before_it_takes_a_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a process that has not loaded the language model yet
    monkeypatch.setattr(language, "_detector", None)
    stub = StubBroker(middleware=[parser_worker.ParserWarmUp()])

    # When a worker with the parser's warm-up starts
    worker = dramatiq.Worker(stub, worker_timeout=20, worker_threads=1)
    worker.start()
    worker.stop()
    stub.close()

    # Then the model is loaded: the first page without a declared language is not slower
    assert language.model_loaded()


def test_the_warm_up_page_is_a_whole_article_whose_language_is_detected() -> None:
    article = warm_up()
    assert article.title == "Warming up the parser"
    assert article.language == "en"
    assert article.word_count > 80


def test_the_parser_setup_installs_its_middleware(settings: Settings) -> None:
    # When the parser's worker setup installs the broker (as `kbm worker parser` does)
    broker = parser_worker.setup(settings, stub=True)
    try:
        installed = [type(middleware) for middleware in broker.middleware]
        # Then the parser's own middleware is there, once, after the project's
        assert installed.count(parser_worker.ParserWarmUp) == 1
        assert installed.count(parser_worker.FetchGuardReport) == 1
        assert installed.index(parser_worker.ParserWarmUp) > installed.index(ItemTracking)
    finally:
        broker.close()
