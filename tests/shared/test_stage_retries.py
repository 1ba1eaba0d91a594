"""Each stage retries with its own policy, on the real Redis broker and PostgreSQL.

``PARSING_MAX_RETRIES`` / ``PARSING_RETRY_DELAYS`` (and the ai and notion siblings) reach
the stage's actor, the ``RetrySchedule`` middleware and the item tracking's final-failure
and poison-guard decisions; a stage without its own uses ``MAX_RETRIES`` /
``RETRY_DELAYS``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator

import dramatiq
import pytest

from shared.broker import build_broker
from shared.db import database
from shared.errors import FetchError
from shared.models import StageRun, TaskItem
from shared.pipeline import STAGES, actor_options
from shared.settings import Settings
from shared.tasks import TaskService

#: The shared retry delay: a retry of a stage without its own waits 1 to 2 s (jitter).
SHARED_DELAY = 2.0


@pytest.fixture()
def policies(settings: Settings) -> Settings:
    """Return settings where parsing retries 3 times at once and the rest once, slowly.

    ``MAX_DELIVERIES`` is below parsing's attempts: the poison guard must not cut them.
    """
    return settings.model_copy(
        update={
            "max_retries": 1,
            "retry_delays": (SHARED_DELAY,),
            "parsing_max_retries": 3,
            "parsing_retry_delays": (0.0,),
            "max_deliveries": 2,
        }
    )


@pytest.fixture()
def calls(policies: Settings) -> Iterator[list[tuple[str, float]]]:
    """Run every stage on the Redis broker with an actor that always fails; yield its calls."""
    broker = build_broker(policies)
    seen: list[tuple[str, float]] = []

    def failing(name: str) -> Callable[[int], None]:
        def run(item_id: int) -> None:
            seen.append((name, time.monotonic()))
            raise FetchError("GET http://x answered HTTP 503")

        run.__name__ = f"fail_{name}"
        return run

    for stage in STAGES:
        dramatiq.actor(failing(stage.name), broker=broker, **actor_options(stage, policies))
    worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=2)
    worker.start()
    try:
        tasks = TaskService(broker)
        tasks.create_task(urls=["http://127.0.0.1/parse-me"], stages=["parse"])
        tasks.create_task(urls=["http://127.0.0.1/enrich-me"], stages=["enrich"])
        yield seen
    finally:
        worker.stop()
        broker.close()


def _wait_until_failed(count: int, timeout: float = 30.0) -> list[TaskItem]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.connection_context():
            failed = list(TaskItem.select().where(TaskItem.status == "failed"))
        if len(failed) == count:
            return failed
        time.sleep(0.1)
    pytest.fail(f"{count} items did not fail within {timeout:g} s")


def _gaps(calls: list[tuple[str, float]], stage: str) -> list[float]:
    times = [at for name, at in calls if name == stage]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_the_parsing_stage_retries_with_its_own_policy_and_another_with_the_shared_one(
    calls: list[tuple[str, float]],
) -> None:
    # When a parse and an enrich fail every time, until each item fails for good
    items = {item.stage: item for item in _wait_until_failed(2)}

    # Then parse ran PARSING_MAX_RETRIES + 1 times, one right after the other
    # (PARSING_RETRY_DELAYS=0), past MAX_DELIVERIES=2: the poison guard let them run
    parse_gaps = _gaps(calls, "parse")
    assert len(parse_gaps) == 3
    assert all(gap < SHARED_DELAY / 2 for gap in parse_gaps), parse_gaps
    # And enrich ran MAX_RETRIES + 1 times, after the shared delay (between half and all)
    (enrich_gap,) = _gaps(calls, "enrich")
    assert SHARED_DELAY / 2 <= enrich_gap < SHARED_DELAY + 1.0
    # And each item records its attempts and the stage's error
    with database.connection_context():
        assert items["parse"].attempts == 4
        assert StageRun.get(item=items["parse"].id, stage="parse").attempts == 4
        assert items["enrich"].attempts == 2
    assert items["parse"].error == "parse: FetchError: GET http://x answered HTTP 503"
