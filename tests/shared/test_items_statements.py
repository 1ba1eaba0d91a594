"""The item statements of each backend: what the stages store and how items move.

Every test runs on PostgreSQL (single statements) and on SQLite (local mode), with the
same expectations: the contract both backends keep.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from shared import items, store
from shared.db import database
from shared.errors import MissingInput
from shared.models import Content, Enrichment, Link, LinkTag, StageRun, Tag, Task, TaskItem
from shared.tasks import TaskService

#: The task, then each item and its stage runs, after the scenario of
#: ``test_items_move_through_duplicate_deliveries_retries_and_a_cancel``.
SNAPSHOT: list[tuple[Any, ...]] = [
    ("cancelled", 1, 0, 2, True, True),
    ("enrich", "completed", 2, None, True, True),
    ("enrich", "completed", 1, "w1", True),
    ("parse", "completed", 1, "w1", True),
    ("enrich", "cancelled", 2, None, True, True),
    ("parse", "completed", 2, "w2", True),
    ("parse", "cancelled", 1, None, True, True),
    ("parse", "completed", 1, "w3", True),
]
ENRICHMENT = {
    "summary": "About lamps.",
    "category": "History",
    "sentiment": "positive",
    "sentiment_score": 0.5,
    "language": "en",
    "provider": "local",
    "model": "textrank",
}


#: Every test runs on both backends: the contract each one keeps.
pytestmark = pytest.mark.usefixtures("item_backend")


def _links(service: TaskService, count: int, prefix: str) -> list[Link]:
    return service.create_links([f"https://example.org/{prefix}/{n}" for n in range(count)])


def _article(link: Link, **changes: Any) -> dict[str, Any]:
    return {
        "final_url": link.url,
        "title": "Lighthouses",
        "text": "Keepers climbed the stairs. " * 50,
        "authors": ["Ann Example", "Bo Sample"],
        "published_at": date(2024, 5, 17),
        "language": "en",
        "top_image": "https://example.org/lamp.jpg",
        "word_count": 200,
        "content_hash": f"hash-{link.id}",
        "blocks": [{"type": "heading", "level": 2, "text": "Lamps"}, {"type": "paragraph"}],
        "canonical_url": None,
        **changes,
    }


def _stored_row(model: type[Content] | type[Enrichment], link_id: int) -> dict[str, Any]:
    row: dict[str, Any] = model.select().where(model.link == link_id).dicts().get()
    return {k: v for k, v in row.items() if k not in ("id", "link", "created_at", "updated_at")}


def _tags_of(link_id: int) -> list[str]:
    query = Tag.select(Tag.name).join(LinkTag).where(LinkTag.link == link_id).order_by(Tag.name)
    return [tag.name for tag in query]


def test_an_article_is_stored_replaced_and_its_duplicate_found(service: TaskService) -> None:
    first, second = _links(service, 2, "article")
    # the same article through two links: the second is a duplicate of the first
    assert store.save_content(first.id, **_article(first, content_hash="same")) is None
    assert store.save_content(second.id, **_article(second, content_hash="same")) == first.id
    # saved again with changes: replaced, not added
    store.save_content(first.id, **_article(first, title="Lamps", blocks=None, authors=[]))
    row = _stored_row(Content, first.id)
    assert (row["final_url"], row["content_hash"]) == (first.url, f"hash-{first.id}")
    assert (row["title"], row["blocks"], row["authors"]) == ("Lamps", None, [])
    assert (row["published_at"], row["word_count"], row["language"]) == (
        date(2024, 5, 17),
        200,
        "en",
    )
    assert Content.select().where(Content.link == first.id).count() == 1
    assert Link.get_by_id(first.id).status == "parsed"


def test_an_enrichment_is_stored_and_its_tags_replaced(service: TaskService) -> None:
    (link,) = _links(service, 1, "enrichment")
    store.save_enrichment(link.id, tags=["lamps", "sea", "lamps", "keepers"], **ENRICHMENT)
    assert _tags_of(link.id) == ["keepers", "lamps", "sea"]
    # saved again: the tags are replaced, and the columns not given are kept
    store.save_enrichment(
        link.id, tags=["sea", "coast"], **ENRICHMENT, prompt_tokens=12, completion_tokens=3
    )
    row = _stored_row(Enrichment, link.id)
    assert (row["tags"], row["prompt_tokens"], row["completion_tokens"]) == (
        ["sea", "coast"],
        12,
        3,
    )
    assert (row["summary"], row["category"], row["model"]) == (
        "About lamps.",
        "History",
        "textrank",
    )
    assert _tags_of(link.id) == ["coast", "sea"]
    assert Link.get_by_id(link.id).status == "enriched"
    assert Tag.select().where(Tag.name == "sea").count() == 1


def test_an_unknown_enrichment_column_is_refused_by_name(service: TaskService) -> None:
    (link,) = _links(service, 1, "unknown")
    with pytest.raises(ValueError, match="not enrichment columns: mood"):
        store.save_enrichment(link.id, tags=[], summary="s", mood="glad")


def test_savers_of_the_same_new_tags_at_once_each_link_every_tag(service: TaskService) -> None:
    # Given 8 links saved at the same moment with the same tags, none existing yet
    links = _links(service, 8, "racing")
    names = [f"fresh-{n}" for n in range(5)]
    barrier, errors = threading.Barrier(len(links)), []

    def save(link: Link) -> None:
        try:
            with database.connection_context():
                barrier.wait()
                store.save_enrichment(link.id, tags=names, **ENRICHMENT)
        except BaseException as ex:
            errors.append(ex)

    threads = [threading.Thread(target=save, args=(link,)) for link in links]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then none failed, each tag exists once, and every link carries all five
    assert not errors, errors
    assert Tag.select().where(Tag.name.in_(names)).count() == len(names)
    assert all(_tags_of(link.id) == sorted(names) for link in links)


def _snapshot(task_id: int) -> list[tuple[Any, ...]]:
    task = Task.get_by_id(task_id)
    rows: list[tuple[Any, ...]] = [
        (
            task.status,
            task.completed_items,
            task.failed_items,
            task.cancelled_items,
            task.started_at is not None,
            task.finished_at is not None,
        )
    ]
    for item in TaskItem.select().where(TaskItem.task == task_id).order_by(TaskItem.id):
        rows.append(
            (
                item.stage,
                item.status,
                item.attempts,
                item.error,
                item.started_at is not None,
                item.finished_at is not None,
            )
        )
        for run in StageRun.select().where(StageRun.item == item.id).order_by(StageRun.stage):
            rows.append(
                (run.stage, run.status, run.attempts, run.worker, run.duration_ms is not None)
            )
    return rows


def test_items_move_through_duplicate_deliveries_retries_and_a_cancel(
    service: TaskService,
) -> None:
    created = service.create_task(
        urls=[f"https://example.org/states/{n}" for n in range(3)], stages=["parse", "enrich"]
    )
    task_id = int(created["task_id"])
    first, second, third = TaskItem.select().where(TaskItem.task == task_id).order_by(TaskItem.id)
    machine = items.current()
    steps: list[Any] = []
    # the first item: both stages, with a duplicate delivery in between
    started = machine.start_stage(first.id, "parse", worker="w1")
    # finished from the item as its start read it (the worker's hand-off)
    steps.append(machine.finish_stage(first.id, "parse", seen=started.state).following)
    steps.append(machine.start_stage(first.id, "parse", worker="w1").run)
    # the enrich stage run no feed made (a test sends no feed): created at its start
    assert machine.start_stage(first.id, "enrich", worker="w1").run
    steps.append(machine.finish_stage(first.id, "enrich").following)
    # the second: a retried failure, then success
    assert machine.start_stage(second.id, "parse", worker="w2").run
    machine.fail_stage(second.id, "parse", "TimeoutError: slow", final=False, attempt=1)
    steps.append(machine.start_stage(second.id, "parse", worker="w2").attempt)
    steps.append(machine.finish_stage(second.id, "parse").following)
    # the task is cancelled while the third one runs: the state its start read is stale,
    # the finish reads again and ends the item cancelled
    started = machine.start_stage(third.id, "parse", worker="w3")
    assert started.run
    machine.cancel_task(task_id)
    steps.append(machine.finish_stage(third.id, "parse", seen=started.state).following)
    assert steps == ["enrich", False, None, 2, "enrich", None]
    assert _snapshot(task_id) == SNAPSHOT


def test_the_link_of_an_item_is_read_whole(service: TaskService) -> None:
    created = service.create_task(urls=["https://example.org/which?b=2&a=1"])
    (item,) = TaskItem.select().where(TaskItem.task == created["task_id"])
    link = store.link_of_item(item.id)
    expected = Link.get_by_id(item.link_id)
    assert link.__data__ == expected.__data__
    with pytest.raises(MissingInput, match="task item 999999 does not exist"):
        store.link_of_item(999_999)


def test_enrichment_reads_the_article_title_text_and_language(service: TaskService) -> None:
    (link,) = _links(service, 1, "article")
    store.save_content(link.id, **_article(link))
    article = store.article_of(link.id)
    assert (article.title, article.text, article.language) == (
        "Lighthouses",
        _article(link)["text"],
        "en",
    )
    with pytest.raises(MissingInput, match="link 999999 has no parsed content"):
        store.article_of(999_999)
