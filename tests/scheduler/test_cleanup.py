"""Housekeeping removes what is past retention, and nothing else."""

from __future__ import annotations

from datetime import timedelta

import redis

from services.scheduler.cleanup import cleanup
from services.scheduler.tick import first_tick_this_minute
from shared.broker import build_broker
from shared.models import StageRun, Task, TaskItem, utcnow
from shared.settings import Settings
from shared.tasks import TaskService


def test_finished_tasks_past_retention_are_deleted_with_their_items(settings: Settings) -> None:
    service = TaskService(build_broker(settings, stub=True))
    old = service.create_task(urls=["http://127.0.0.1/old"])["task_id"]
    recent = service.create_task(urls=["http://127.0.0.1/recent"])["task_id"]
    running = service.create_task(urls=["http://127.0.0.1/running"])["task_id"]
    Task.update(finished_at=utcnow() - timedelta(days=40), status="completed").where(
        Task.id == old
    ).execute()
    Task.update(finished_at=utcnow() - timedelta(days=2), status="completed").where(
        Task.id == recent
    ).execute()

    report = cleanup(None, retention_days=30)

    assert report.tasks == 1
    assert {task.id for task in Task.select()} == {recent, running}
    assert TaskItem.select().where(TaskItem.task == old).count() == 0
    assert StageRun.select().count() == 2


def test_dead_letters_and_heartbeats_past_retention_are_trimmed(
    settings: Settings, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    now_ms = 1_900_000_000_000
    day = 86_400_000
    client.zadd("dramatiq:parsing.XQ", {"old": now_ms - 40 * day, "new": now_ms - day})
    client.hset("dramatiq:parsing.XQ.msgs", mapping={"old": "{}", "new": "{}"})
    client.zadd("dramatiq:__heartbeats__", {"gone": now_ms - 40 * day, "alive": now_ms})
    client.hset("kbm:workers", mapping={"gone": "{}", "alive": "{}", "never-beat": "{}"})

    report = cleanup(client, retention_days=30, wall_ms=lambda: float(now_ms))

    # The end-to-end stack's workers (session-wide) may beat into this db too: their
    # heartbeats carry today's time and are past retention at this test's "now".
    assert report.dead_letters == 1
    assert report.heartbeats >= 1
    assert client.zrange("dramatiq:parsing.XQ", 0, -1) == [b"new"]
    assert client.hkeys("dramatiq:parsing.XQ.msgs") == [b"new"]
    # A killed worker's registry entry goes with its heartbeat; a live one's stays.
    registered = set(client.hkeys("kbm:workers"))
    assert b"alive" in registered
    assert not registered & {b"gone", b"never-beat"}
    # A worker of an earlier suite may still be beating into this db: look at ours only.
    beating = set(client.zrange("dramatiq:__heartbeats__", 0, -1))
    assert b"alive" in beating
    assert b"gone" not in beating


def test_only_the_first_scheduler_ticks_each_minute(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert first_tick_this_minute(client, 50, now=6_000_000.0)
    assert not first_tick_this_minute(client, 50, now=6_000_030.0)
    assert first_tick_this_minute(client, 50, now=6_000_060.0)
