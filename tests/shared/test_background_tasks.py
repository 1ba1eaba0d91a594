"""The original guide's task-service calls, run as the guide writes them, on the real stack.

Each test runs the guide's snippet with only its import changed, against PostgreSQL and
Redis; a Dramatiq worker on its own Redis broker runs the project's stage actors (the
local AI provider, the Markdown publisher) on pages served from loopback.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware.prometheus import Prometheus

import shared.settings
from services.ai import actors as ai_actors
from services.notion import actors as notion_actors
from services.parser import actors as parser_actors
from shared import background_tasks
from shared.background_tasks import HOUSEKEEPING_JOBS, get_background_task_service
from shared.broker import build_broker
from shared.db import database
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.models import Content, Link, Publication, StageRun, Task, TaskItem
from shared.pipeline import ENRICH, PARSE, PUBLISH, actor_options
from shared.redis_broker import Keys
from shared.settings import Settings, use_settings
from tests.stack import PageSite

PARSE_JOB = "app.workers.parsing_worker.parse_content_job"
STAGE_QUEUES = {"parsing", "ai", "notion"}


@pytest.fixture()
def worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[dramatiq.Worker]:
    """Make ``settings`` the process's and run the stage actors on a worker of their own.

    The worker takes the stage queues only: a housekeeping message stays in ``default``.
    """
    monkeypatch.setattr("shared.settings._current", shared.settings._current)
    monkeypatch.setattr(background_tasks, "_cached", None)
    use_settings(settings)
    ai_actors._built_provider.cache_clear()
    notion_actors.publisher.cache_clear()
    broker = build_broker(settings)
    # Dramatiq's metrics come to life when the dramatiq command boots a worker process,
    # which an in-process worker skips: without this they log an error per message.
    broker.middleware[:] = [each for each in broker.middleware if not isinstance(each, Prometheus)]
    for stage, actor in (
        (PARSE, parser_actors.parse_item),
        (ENRICH, ai_actors.enrich_item),
        (PUBLISH, notion_actors.publish_item),
    ):
        dramatiq.actor(broker=broker, **actor_options(stage, settings))(actor.fn)
    running = dramatiq.Worker(broker, queues=STAGE_QUEUES, worker_timeout=50, worker_threads=2)
    running.start()
    yield running
    running.stop()
    broker.close()
    if background_tasks._cached is not None:
        background_tasks._cached[1].tasks.broker.close()
    ai_actors._built_provider.cache_clear()
    notion_actors.publisher.cache_clear()


@pytest.fixture()
def pages(site: PageSite, expected_pages: dict[str, dict[str, str]]) -> Iterator[list[str]]:
    """Return the URLs of three served article pages, none fetched yet nor left broken."""
    paths = [f"/page/{page_id}" for page_id in sorted(expected_pages)[:3]]
    for path in paths:
        site.hits.pop(path, None)
    yield [site.url(path) for path in paths]
    site.broken.difference_update(paths)


def hits(site: PageSite, url: str) -> int:
    return site.hits[url.removeprefix(site.base_url)]


def wait_until_finished(task_id: int, timeout: float = 60.0) -> dict[str, Any]:
    """Return a task's status once it is finished; fail with it otherwise."""
    service = get_background_task_service()
    deadline = time.monotonic() + timeout
    status = service.get_task_status(task_id)
    while not status["finished_at"]:
        if time.monotonic() > deadline:
            pytest.fail(f"task {task_id} did not finish: {status}")
        time.sleep(0.05)
        status = service.get_task_status(task_id)
    return status


# get_background_task_service ---------------------------------------------------------


def test_get_background_task_service_is_one_service_sending_to_the_settings_redis(
    worker: dramatiq.Worker, settings: Settings
) -> None:
    task_service = get_background_task_service()

    assert get_background_task_service() is task_service
    broker = task_service.tasks.broker
    assert isinstance(broker, RedisBroker)
    expected = redis.Redis.from_url(settings.redis_url).connection_pool.connection_kwargs
    assert broker.client.connection_pool.connection_kwargs["db"] == expected["db"]
    assert task_service.tasks.limits.queue == settings.queue_max_in_flight
    # An explicit broker makes a service of its own, leaving the process's one alone
    other = build_broker(settings, stub=True)
    assert get_background_task_service(broker=other).tasks.broker is other
    assert get_background_task_service() is task_service
    other.close()


def test_get_background_task_service_binds_the_database_when_the_process_did_not(
    worker: dramatiq.Worker, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process that never bound the database (a script of the original system's)
    monkeypatch.setattr(database, "obj", None)

    # When it asks for the service and creates a task
    task = get_background_task_service().create_task(type="parsing", total_items=1)

    # Then the models were bound to DATABASE_URL: the task is there
    bound = database.obj
    assert bound is not None and Task.get_by_id(task.id).type == "parsing"
    bound.close_all()


# create_task ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_type", "queue_name", "stages"),
    [
        ("parsing", "parsing", ["parse"]),
        ("ai", "ai", ["enrich"]),
        ("notion", "notion", ["publish"]),
        ("pipeline", "pipeline", ["parse", "enrich", "publish"]),
        ("pipeline", None, ["parse", "enrich", "publish"]),
        ("pipeline", "ai", ["enrich", "publish"]),
    ],
)
def test_create_task_maps_the_guides_types_and_queues_onto_stages(
    worker: dramatiq.Worker,
    caplog: pytest.LogCaptureFixture,
    task_type: str,
    queue_name: str | None,
    stages: list[str],
) -> None:
    task_service = get_background_task_service()

    with caplog.at_level(logging.WARNING, logger=background_tasks.__name__):
        task = task_service.create_task(
            type=task_type,
            total_items=10,  # Number of URLs to parse
            config={"parser": "beautifulsoup"},
            queue_name=queue_name,
        )

    row = Task.get_by_id(task.id)
    assert (row.type, row.stages, row.status, row.total_items) == (
        task_type,
        stages,
        "pending",
        10,
    )
    assert TaskItem.select().where(TaskItem.task == task.id).count() == 0
    assert "{'parser': 'beautifulsoup'} ignored" in caplog.text


def test_create_task_refuses_unknown_types_and_queues_naming_the_known_ones(
    worker: dramatiq.Worker,
) -> None:
    task_service = get_background_task_service()

    with pytest.raises(InvalidRequest, match="unknown type 'scraping'; known: pipeline, parsing"):
        task_service.create_task(type="scraping", total_items=1)
    with pytest.raises(InvalidRequest, match="'urgent'; known: parsing, ai, notion, default"):
        task_service.create_task(type="parsing", total_items=1, queue_name="urgent")
    with pytest.raises(InvalidRequest, match=r"a parsing task runs \['parse'\], not ai"):
        task_service.create_task(type="parsing", total_items=1, queue_name="ai")
    with pytest.raises(InvalidRequest, match="total_items"):
        task_service.create_task(type="parsing", total_items=0)
    assert Task.select().count() == 0


# create_task_item -----------------------------------------------------------------------


def test_create_task_item_adds_each_link_once_and_no_more_than_declared(
    worker: dramatiq.Worker, pages: list[str]
) -> None:
    task_service = get_background_task_service()
    urls = pages[:2]
    link_ids = [link.id for link in task_service.tasks.create_links(urls)]
    task = task_service.create_task(type="parsing", total_items=2, queue_name="parsing")

    # Create task items (one per URL)
    items = []
    for i, url in enumerate(urls):  # noqa: B007 (the guide's loop)
        item = task_service.create_task_item(task_id=task.id, item_id=link_ids[i], item_type="link")
        items.append(item)

    # The same link again is the same item; a link beyond the declared total is refused
    again = task_service.create_task_item(task_id=task.id, item_id=link_ids[0], item_type="link")
    assert again.id == items[0].id
    [extra] = task_service.tasks.create_links([pages[2]])
    with pytest.raises(Conflict, match="already has its 2 items"):
        task_service.create_task_item(task_id=task.id, item_id=extra.id, item_type="link")
    with pytest.raises(InvalidRequest, match="only 'link' items exist"):
        task_service.create_task_item(task_id=task.id, item_id=extra.id, item_type="page")
    with pytest.raises(InvalidRequest, match="no link with id 999"):
        task_service.create_task_item(task_id=task.id, item_id=999, item_type="link")
    with pytest.raises(NotFound):
        task_service.create_task_item(task_id=task.id + 1, item_id=extra.id, item_type="link")

    # The items wait at the first stage, counted once; nothing is sent before enqueue_job
    rows = list(TaskItem.select().where(TaskItem.task == task.id).order_by(TaskItem.id))
    assert [(row.link_id, row.stage, row.status) for row in rows] == [
        (link_ids[0], "parse", "pending"),
        (link_ids[1], "parse", "pending"),
    ]
    status = task_service.get_task_status(task.id)
    assert (status["total_items"], status["waiting_items"], status["completed_items"]) == (2, 2, 0)
    assert status["progress"] == 0.0
    assert StageRun.select().count() == 0


# enqueue_job ----------------------------------------------------------------------------


def test_the_guides_usage_example_parses_each_link_once(
    worker: dramatiq.Worker, pages: list[str], site: PageSite, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = pages
    link_ids = [link.id for link in get_background_task_service().tasks.create_links(urls)]

    # The guide's "Creating a Background Task (Python)", with its import changed
    task_service = get_background_task_service()
    task = task_service.create_task(
        type="parsing",
        total_items=3,  # Number of URLs to parse
        config={"parser": "beautifulsoup"},
        queue_name="parsing",
    )
    for i, url in enumerate(urls):  # noqa: B007 (the guide's loop)
        item = task_service.create_task_item(task_id=task.id, item_id=link_ids[i], item_type="link")
    job_ids = []
    for link_id in link_ids:
        job_id = task_service.enqueue_job(
            task_id=task.id,
            queue_name="parsing",
            job_func="app.workers.parsing_worker.parse_content_job",
            link_id=link_id,
        )
        job_ids.append(job_id)

    status = wait_until_finished(task.id)
    status = task_service.get_task_status(task.id)
    print(f"Progress: {status['progress']}%")
    print(f"Completed: {status['completed_items']}/{status['total_items']}")

    assert capsys.readouterr().out == "Progress: 100.0%\nCompleted: 3/3\n"
    assert (status["status"], status["failed_items"], status["waiting_items"]) == (
        "completed",
        0,
        0,
    )
    items = list(TaskItem.select().where(TaskItem.task == task.id).order_by(TaskItem.id))
    assert job_ids == [str(row.id) for row in items] and item.id == items[-1].id
    assert Content.select().where(Content.link.in_(link_ids)).count() == 3
    assert [hits(site, url) for url in urls] == [1, 1, 1]
    # Enqueued again once done: the same item, not run again
    assert (
        task_service.enqueue_job(task.id, "parsing", PARSE_JOB, link_id=link_ids[0]) == job_ids[0]
    )
    time.sleep(0.3)
    assert hits(site, urls[0]) == 1
    assert [run.attempts for run in StageRun.select()] == [1, 1, 1]


def test_enqueuing_one_link_twice_creates_one_item_and_runs_it_once(
    worker: dramatiq.Worker, pages: list[str], site: PageSite
) -> None:
    task_service = get_background_task_service()
    [link] = task_service.tasks.create_links(pages[:1])
    task = task_service.create_task(type="parsing", total_items=1, queue_name="parsing")

    # Without create_task_item, under the project's own names: the actor and its path
    first = task_service.enqueue_job(
        task_id=task.id, queue_name="parsing", job_func="parse_item", link_id=link.id
    )
    second = task_service.enqueue_job(
        task_id=task.id,
        queue_name="parsing",
        job_func="services.parser.actors.parse_item",
        link_id=link.id,
    )

    status = wait_until_finished(task.id)
    assert first == second
    assert (status["status"], status["completed_items"], status["total_items"]) == (
        "completed",
        1,
        1,
    )
    [item] = TaskItem.select().where(TaskItem.task == task.id)
    assert (str(item.id), item.attempts, hits(site, pages[0])) == (first, 1, 1)


def test_enqueue_job_runs_a_pipeline_task_through_every_stage(
    worker: dramatiq.Worker, pages: list[str], settings: Settings
) -> None:
    task_service = get_background_task_service()
    link_ids = [link.id for link in task_service.tasks.create_links(pages[:2])]
    task = task_service.create_task(type="pipeline", total_items=2, queue_name="parsing")

    for link_id in link_ids:
        task_service.enqueue_job(
            task_id=task.id, queue_name="parsing", job_func=PARSE_JOB, link_id=link_id
        )

    status = wait_until_finished(task.id)
    assert (status["status"], status["completed_items"], status["progress"]) == (
        "completed",
        2,
        100.0,
    )
    assert {stage: counts["completed"] for stage, counts in status["stage_counts"].items()} == {
        "parse": 2,
        "enrich": 2,
        "publish": 2,
    }
    assert [link.status for link in Link.select().order_by(Link.id)] == ["published"] * 2
    assert Publication.select().where(Publication.publisher == "markdown").count() == 2
    assert len(list(settings.export_dir.glob("*.md"))) == 2


def test_enqueue_job_refuses_what_it_does_not_know_naming_the_known_ones(
    worker: dramatiq.Worker, pages: list[str]
) -> None:
    task_service = get_background_task_service()
    [link] = task_service.tasks.create_links(pages[:1])
    task = task_service.create_task(type="pipeline", total_items=1)

    with pytest.raises(
        InvalidRequest, match=re.escape("'app.workers.ai_worker.summarize_job'; known: ")
    ) as ex:
        task_service.enqueue_job(task.id, "ai", "app.workers.ai_worker.summarize_job", link.id)
    for name in ("parse_item", "enrich_item", "publish_item", PARSE_JOB, "reconcile_items"):
        assert name in str(ex.value)
    with pytest.raises(InvalidRequest, match="'urgent'; known: parsing, ai, notion, default"):
        task_service.enqueue_job(task.id, "urgent", "parse_item", link.id)
    with pytest.raises(InvalidRequest, match="parse_item runs on queue parsing, not ai"):
        task_service.enqueue_job(task.id, "ai", "parse_item", link.id)
    with pytest.raises(InvalidRequest, match="items start at stage parse"):
        task_service.enqueue_job(task.id, "ai", "enrich_item", link.id)
    with pytest.raises(InvalidRequest, match="link_id"):
        task_service.enqueue_job(task.id, "parsing", "parse_item")
    assert TaskItem.select().count() == 0


def test_enqueue_job_sends_a_housekeeping_actor_by_name_to_default(
    worker: dramatiq.Worker, settings: Settings
) -> None:
    task_service = get_background_task_service()
    task = task_service.create_task(type="parsing", total_items=1)

    message_id = task_service.enqueue_job(
        task_id=task.id, queue_name="default", job_func="reconcile_items"
    )

    keys = Keys("dramatiq")
    client = redis.Redis.from_url(settings.redis_url)
    [redis_id] = client.lrange(keys.queue("default"), 0, -1)
    sent = json.loads(client.hget(keys.messages("default"), redis_id) or b"{}")
    assert (sent["message_id"], sent["actor_name"], sent["args"]) == (
        message_id,
        "reconcile_items",
        [],
    )
    client.close()


def test_every_housekeeping_job_is_a_default_actor_taking_no_argument(settings: Settings) -> None:
    # The scheduler's actors declare themselves on the global broker, with periodiq's option
    previous = dramatiq.get_broker()
    dramatiq.set_broker(build_broker(settings, stub=True))
    try:
        scheduler_actors = importlib.import_module("services.scheduler.actors")
    finally:
        dramatiq.get_broker().close()
        dramatiq.set_broker(previous)
    for name in HOUSEKEEPING_JOBS:
        actor = getattr(scheduler_actors, name)
        assert (actor.actor_name, actor.queue_name) == (name, "default")
        assert not inspect.signature(actor.fn).parameters


# get_task_status ------------------------------------------------------------------------


def test_get_task_status_answers_what_the_guide_prints(
    worker: dramatiq.Worker, pages: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    task_service = get_background_task_service()
    link_ids = [link.id for link in task_service.tasks.create_links(pages[:2])]
    task = task_service.create_task(type="parsing", total_items=2, queue_name="parsing")
    for link_id in link_ids:
        task_service.create_task_item(task_id=task.id, item_id=link_id, item_type="link")

    # Check task status
    status = task_service.get_task_status(task.id)
    print(f"Progress: {status['progress']}%")
    print(f"Completed: {status['completed_items']}/{status['total_items']}")
    for link_id in link_ids:
        task_service.enqueue_job(task.id, "parsing", PARSE_JOB, link_id=link_id)
    wait_until_finished(task.id)
    status = task_service.get_task_status(task.id)
    print(f"Progress: {status['progress']}%")
    print(f"Completed: {status['completed_items']}/{status['total_items']}")

    assert capsys.readouterr().out.splitlines() == [
        "Progress: 0.0%",
        "Completed: 0/2",
        "Progress: 100.0%",
        "Completed: 2/2",
    ]
    assert (status["status"], status["pending_items"], status["failed_items"]) == (
        "completed",
        0,
        0,
    )
    with pytest.raises(NotFound):
        task_service.get_task_status(task.id + 1)


# retry_failed_items ---------------------------------------------------------------------


def test_retry_failed_items_reruns_the_failed_links_once_the_page_answers(
    worker: dramatiq.Worker, pages: list[str], site: PageSite
) -> None:
    # Given a parsing task whose second page answers 500 until after its retries
    task_service = get_background_task_service()
    link_ids = [link.id for link in task_service.tasks.create_links(pages[:2])]
    task = task_service.create_task(type="parsing", total_items=2, queue_name="parsing")
    site.broken.add(pages[1].removeprefix(site.base_url))
    for link_id in link_ids:
        task_service.enqueue_job(task.id, "parsing", PARSE_JOB, link_id=link_id)
    failed = wait_until_finished(task.id)
    assert (failed["status"], failed["completed_items"], failed["failed_items"]) == (
        "failed",
        1,
        1,
    )
    site.broken.discard(pages[1].removeprefix(site.base_url))

    # When the guide's manual retry runs
    retried = task_service.retry_failed_items(
        task_id=task.id,
        queue_name="parsing",
        job_func="app.workers.parsing_worker.parse_content_job",
    )

    # Then the failed item alone runs again and the task completes
    status = wait_until_finished(task.id)
    assert retried == 1
    assert (status["status"], status["completed_items"], status["failed_items"]) == (
        "completed",
        2,
        0,
    )
    assert (status["progress"], status["total_items"]) == (100.0, 2)
    # Every attempt fetched its page once; the retry ran the failed stage once more
    item = TaskItem.get((TaskItem.task == task.id) & (TaskItem.link == link_ids[1]))
    assert [hits(site, url) for url in pages[:2]] == [1, item.attempts]
    assert item.attempts >= 2 and StageRun.get(StageRun.item == item.id).attempts == 1
    assert task_service.retry_failed_items(task_id=task.id) == 0
    with pytest.raises(InvalidRequest, match="does not run publish"):
        task_service.retry_failed_items(task_id=task.id, queue_name="notion")
    with pytest.raises(InvalidRequest, match=re.escape("unknown job_func 'app.workers.x'")):
        task_service.retry_failed_items(task.id, "parsing", "app.workers.x")
