"""The single-statement writes give what the general code gives, on real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from shared import hotpath, lifecycle, store
from shared.broker import build_broker
from shared.db import database
from shared.errors import MissingInput
from shared.models import Content, Enrichment, Link, LinkTag, StageRun, Tag, Task, TaskItem
from shared.settings import Settings
from shared.tasks import TaskService

MODES = {"single statements": True, "general code": False}
ENRICHMENT = {
    "summary": "About lamps.",
    "category": "History",
    "sentiment": "positive",
    "sentiment_score": 0.5,
    "language": "en",
    "provider": "local",
    "model": "textrank",
}


@pytest.fixture()
def service(settings: Settings) -> TaskService:
    return TaskService(build_broker(settings, stub=True))


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
    row = model.select().where(model.link == link_id).dicts().get()
    return {k: v for k, v in row.items() if k not in ("id", "link", "created_at", "updated_at")}


def _tags_of(link_id: int) -> list[str]:
    query = Tag.select(Tag.name).join(LinkTag).where(LinkTag.link == link_id).order_by(Tag.name)
    return [tag.name for tag in query]


def test_both_forms_store_the_same_article_and_find_the_same_duplicate(
    service: TaskService, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, duplicates = {}, {}
    for mode, enabled in MODES.items():
        monkeypatch.setattr(hotpath, "ENABLED", enabled)
        first, second = _links(service, 2, mode.replace(" ", "-"))
        # the same article through two links: the second is a duplicate of the first
        assert store.save_content(first.id, **_article(first, content_hash=mode)) is None
        duplicates[mode] = store.save_content(second.id, **_article(second, content_hash=mode))
        assert duplicates[mode] == first.id
        # saved again with changes: replaced, not added
        store.save_content(first.id, **_article(first, title="Lamps", blocks=None, authors=[]))
        row = _stored_row(Content, first.id)
        assert (row.pop("final_url"), row.pop("content_hash")) == (first.url, f"hash-{first.id}")
        rows[mode] = row
        assert Content.select().where(Content.link == first.id).count() == 1
        assert Link.get_by_id(first.id).status == "parsed"
    single, general = rows["single statements"], rows["general code"]
    assert single == general
    assert single["title"] == "Lamps" and single["blocks"] is None and single["authors"] == []


def test_both_forms_store_the_same_enrichment_and_replace_its_tags(
    service: TaskService, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, tags = {}, {}
    for mode, enabled in MODES.items():
        monkeypatch.setattr(hotpath, "ENABLED", enabled)
        (link,) = _links(service, 1, mode.replace(" ", "-"))
        values = ENRICHMENT
        store.save_enrichment(link.id, tags=["lamps", "sea", "lamps", "keepers"], **values)
        first_tags = _tags_of(link.id)
        # saved again: the tags are replaced, and the columns not given are kept
        store.save_enrichment(
            link.id, tags=["sea", "coast"], **values, prompt_tokens=12, completion_tokens=3
        )
        rows[mode], tags[mode] = _stored_row(Enrichment, link.id), (first_tags, _tags_of(link.id))
        assert Link.get_by_id(link.id).status == "enriched"
    assert rows["single statements"] == rows["general code"]
    assert rows["single statements"]["tags"] == ["sea", "coast"]
    assert rows["single statements"]["prompt_tokens"] == 12
    assert tags["single statements"] == tags["general code"]
    assert tags["single statements"] == (["keepers", "lamps", "sea"], ["coast", "sea"])
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


def test_both_forms_move_items_through_the_same_states(
    service: TaskService, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots, general_reads = {}, {}
    read_in_full = lifecycle._item_and_task

    def counted(item_id: int, *, lock: bool) -> TaskItem | None:
        general_reads[mode] += 1
        return read_in_full(item_id, lock=lock)

    monkeypatch.setattr(lifecycle, "_item_and_task", counted)
    for mode, enabled in MODES.items():
        monkeypatch.setattr(hotpath, "ENABLED", enabled)
        general_reads[mode] = 0
        created = service.create_task(
            urls=[f"https://example.org/{mode.replace(' ', '-')}/{n}" for n in range(3)],
            stages=["parse", "enrich"],
        )
        task_id = int(created["task_id"])
        first, second, third = (
            TaskItem.select().where(TaskItem.task == task_id).order_by(TaskItem.id)
        )
        steps = []
        # the first item: both stages, with a duplicate delivery in between
        assert lifecycle.start_stage(first.id, "parse", worker="w1").run
        steps.append(lifecycle.finish_stage(first.id, "parse"))
        steps.append(lifecycle.start_stage(first.id, "parse", worker="w1").run)
        assert lifecycle.start_stage(first.id, "enrich", worker="w1").run
        steps.append(lifecycle.finish_stage(first.id, "enrich"))
        # the second: a retried failure, then success
        assert lifecycle.start_stage(second.id, "parse", worker="w2").run
        lifecycle.fail_stage(second.id, "parse", "TimeoutError: slow", final=False, attempt=1)
        steps.append(lifecycle.start_stage(second.id, "parse", worker="w2").attempt)
        steps.append(lifecycle.finish_stage(second.id, "parse"))
        # the task is cancelled while the third one runs
        assert lifecycle.start_stage(third.id, "parse", worker="w3").run
        lifecycle.cancel_task(task_id)
        steps.append(lifecycle.finish_stage(third.id, "parse"))
        snapshots[mode] = (steps, _snapshot(task_id))
    assert snapshots["single statements"] == snapshots["general code"]
    # Only three went through the general code: the duplicate delivery, the failure,
    # and the enrich start, whose stage run no feed made (a test sends no feed there)
    assert general_reads == {"single statements": 3, "general code": 11}
    steps, rows = snapshots["single statements"]
    assert steps == ["enrich", False, None, 2, "enrich", None]
    assert rows[0][:4] == ("cancelled", 1, 0, 2)


def test_prepared_statements_are_prepared_again_on_a_new_connection(
    service: TaskService,
) -> None:
    created = service.create_task(urls=[f"https://example.org/re/{n}" for n in range(2)])
    first, second = TaskItem.select().where(TaskItem.task == created["task_id"])
    assert lifecycle.start_stage(first.id, "parse").run
    # When the connection is replaced (a database restart, a recycled pool connection)
    database.close()
    database.obj.close_all()
    database.connect()
    # Then the statements are prepared on the new one and run as before
    assert lifecycle.start_stage(second.id, "parse").run
    assert lifecycle.finish_stage(second.id, "parse") == "enrich"
    names = database.execute_sql("SELECT name FROM pg_prepared_statements").fetchall()
    assert {"kbm_start_stage", "kbm_finish_stage"} <= {name for (name,) in names}


def test_a_prepared_statement_names_a_parameter_without_a_type() -> None:
    with pytest.raises(ValueError, match="kbm_example: a parameter has no type"):
        hotpath.Prepared("kbm_example", "SELECT %(a)s, %(b)s", {"a": "integer"})


def test_both_forms_read_the_same_link_of_an_item(
    service: TaskService, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = service.create_task(urls=["https://example.org/which?b=2&a=1"])
    (item,) = TaskItem.select().where(TaskItem.task == created["task_id"])
    read = {}
    for mode, enabled in MODES.items():
        monkeypatch.setattr(hotpath, "ENABLED", enabled)
        link = store.link_of_item(item.id)
        read[mode] = (link.id, link.url, link.normalized_url, link.status, link.created_at)
        with pytest.raises(MissingInput, match="task item 999999 does not exist"):
            store.link_of_item(999_999)
    assert read["single statements"] == read["general code"]
    assert read["single statements"][0] == item.link_id


def test_both_forms_read_the_same_article_for_enrichment(
    service: TaskService, monkeypatch: pytest.MonkeyPatch
) -> None:
    (link,) = _links(service, 1, "article")
    store.save_content(link.id, **_article(link))
    read = {}
    for mode, enabled in MODES.items():
        monkeypatch.setattr(hotpath, "ENABLED", enabled)
        article = store.article_of(link.id)
        read[mode] = (article.title, article.text, article.language)
        with pytest.raises(MissingInput, match="link 999999 has no parsed content"):
            store.article_of(999_999)
    assert read["single statements"] == read["general code"]
    assert read["single statements"] == ("Lighthouses", _article(link)["text"], "en")
