from __future__ import annotations

import time
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from falcon.testing import TestClient

from shared.pipeline import QUEUES
from shared.settings import Settings
from tests.api.conftest import assert_problem, client_with, urls


@pytest.fixture()
def worker_broker(redis_url: str) -> Iterator[RedisBroker]:
    """Return a second Redis broker, playing a worker process."""
    broker = RedisBroker(url=redis_url)
    yield broker
    broker.close()


def _message(queue: str, n: int) -> dramatiq.Message[object]:
    return dramatiq.Message(queue_name=queue, actor_name="probe", args=(n,), kwargs={}, options={})


def _in_redis(client: redis.Redis, queue: str) -> dict[str, int]:
    return {
        "waiting": client.llen(f"dramatiq:{queue}"),
        "delayed": client.hlen(f"dramatiq:{queue}.DQ.msgs"),
        "unacked": client.hlen(f"dramatiq:{queue}.msgs"),
        "dead": client.zcard(f"dramatiq:{queue}.XQ"),
    }


def test_queue_depths_equal_what_is_in_redis(
    client: TestClient, redis_client: redis.Redis, worker_broker: RedisBroker
) -> None:
    # Given waiting parse messages, a delayed ai message and a dead-lettered notion message
    client.simulate_post("/api/pipeline", json={"urls": urls(3)})
    worker_broker.enqueue(_message("ai", 1), delay=60_000)
    worker_broker.enqueue(_message("notion", 2))
    consumer = worker_broker.consume("notion", prefetch=1, timeout=100)
    fetched = next(message for message in consumer if message is not None)
    consumer.nack(fetched)
    consumer.close()

    data = client.simulate_get("/api/monitoring/queues").json["data"]

    assert set(data["queues"]) == set(QUEUES)
    for queue in QUEUES:
        assert data["queues"][queue] == _in_redis(redis_client, queue)
    assert data["queues"]["parsing"] == {"waiting": 3, "delayed": 0, "unacked": 3, "dead": 0}
    assert data["queues"]["ai"]["delayed"] == 1
    assert data["queues"]["notion"]["dead"] == 1


def test_workers_lists_recent_heartbeats_with_the_queues_they_hold(
    client: TestClient, redis_client: redis.Redis, worker_broker: RedisBroker
) -> None:
    # Given a worker holding one parsing message, and one silent for two minutes
    worker_broker.enqueue(_message("parsing", 1))
    consumer = worker_broker.consume("parsing", prefetch=1, timeout=100)
    held = next(message for message in consumer if message is not None)
    redis_client.zadd("dramatiq:__heartbeats__", {"gone-worker": (time.time() - 120) * 1000})

    data = client.simulate_get("/api/monitoring/workers").json["data"]

    workers = {worker["id"]: worker for worker in data["workers"]}
    assert data["window_s"] == 20  # HEARTBEAT_TIMEOUT_MS: when Dramatiq deems a worker dead
    assert "gone-worker" not in workers
    seen = workers[worker_broker.broker_id]
    assert seen["queues"] == {"parsing": 1}
    assert 0 <= seen["last_heartbeat_age_s"] < 10
    assert seen["last_heartbeat_at"].endswith("Z")
    assert (seen["gateway"], seen["kind"]) == (False, "client")  # it never booted a worker
    assert data["alive"] == 0
    consumer.ack(held)
    consumer.close()


def test_the_gateways_own_broker_is_flagged_among_the_workers(client: TestClient) -> None:
    client.simulate_post("/api/pipeline", json={"urls": urls(1)})

    workers = client.simulate_get("/api/monitoring/workers").json["data"]["workers"]

    assert [(worker["gateway"], worker["kind"]) for worker in workers] == [(True, "client")]


def test_health_is_200_when_redis_database_and_schema_are_fine(client: TestClient) -> None:
    result = client.simulate_get("/api/monitoring/health")

    assert result.status_code == 200
    assert result.json["success"] is True
    data = result.json["data"]
    assert data["status"] == "healthy"
    assert data["checks"]["redis"]["ok"] is True
    assert data["checks"]["database"]["ok"] is True
    assert data["checks"]["migrations"] == {"ok": True, "pending": []}


def test_health_is_503_naming_redis_when_redis_is_unreachable(settings: Settings) -> None:
    unreachable = client_with(settings, redis_url="redis://127.0.0.1:1/0")

    result = unreachable.simulate_get("/api/monitoring/health")

    assert result.status_code == 503
    assert result.json["success"] is False
    checks = result.json["data"]["checks"]
    assert checks["redis"]["ok"] is False
    assert checks["redis"]["error"] == "ConnectionError"
    assert checks["database"]["ok"] is True


def test_health_is_503_naming_the_database_when_it_is_unreachable(settings: Settings) -> None:
    unreachable = client_with(settings, database_url="postgresql://postgres@127.0.0.1:1/nothing")

    result = unreachable.simulate_get("/api/monitoring/health")

    assert result.status_code == 503
    checks = result.json["data"]["checks"]
    assert checks["redis"]["ok"] is True
    assert checks["database"]["ok"] is False
    assert checks["migrations"]["ok"] is False


def test_routes_needing_an_unreachable_part_are_503_problems(settings: Settings) -> None:
    no_redis = client_with(settings, redis_url="redis://127.0.0.1:1/0")
    assert_problem(no_redis.simulate_get("/api/monitoring/queues"), 503)
    assert_problem(no_redis.simulate_post("/api/pipeline", json={"urls": urls(1)}), 503)

    no_database = client_with(settings, database_url="postgresql://postgres@127.0.0.1:1/nothing")
    result = no_database.simulate_get("/api/tasks/history")
    problem = assert_problem(result, 503)
    assert "127.0.0.1" not in problem["detail"]


def test_requeuing_ids_that_are_no_dead_letter_names_them(client: TestClient) -> None:
    result = client.simulate_post(
        "/api/monitoring/dead-letters/requeue", json={"ids": ["no-such-id", "another"]}
    )
    assert result.status_code == 200
    assert result.json["data"] == {
        "requeued": 0,
        "skipped": 0,
        "unknown": ["another", "no-such-id"],
    }
