"""Worker processes register themselves; monitoring tells them from clients that only send."""

from __future__ import annotations

import os
import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from shared.middleware.registry import WORKERS_KEY, WorkerRegistry
from shared.monitoring import Monitor


def _probe(queue: str) -> dramatiq.Message[object]:
    return dramatiq.Message(queue_name=queue, actor_name="probe", args=(), kwargs={}, options={})


def test_a_running_worker_is_a_worker_and_a_sender_is_a_client(redis_url: str) -> None:
    # Given a worker process consuming parsing, and a client that only sends
    worker_broker = RedisBroker(url=redis_url)
    worker_broker.add_middleware(WorkerRegistry())
    worker_broker.declare_queue("parsing")
    worker = dramatiq.Worker(worker_broker, queues={"parsing"}, worker_timeout=20, worker_threads=1)
    client_broker = RedisBroker(url=redis_url)
    client_broker.declare_queue("ai")
    client = redis.Redis.from_url(redis_url)
    worker.start()
    try:
        client_broker.enqueue(_probe("ai"))
        deadline = time.monotonic() + 10
        while client.zscore("dramatiq:__heartbeats__", worker_broker.broker_id) is None:
            assert time.monotonic() < deadline, "the worker never sent a heartbeat"
            time.sleep(0.05)

        # When monitoring lists the brokers
        data = Monitor(client).workers()

        # Then the worker is counted with what it consumes, the client is not
        kinds = {entry["id"]: entry for entry in data["workers"]}
        seen = kinds[worker_broker.broker_id]
        assert (seen["kind"], seen["consumes"], seen["pid"]) == ("worker", ["parsing"], os.getpid())
        assert kinds[client_broker.broker_id]["kind"] == "client"
        assert data["alive"] == 1
    finally:
        worker.stop()
    # And a worker that stops leaves the registry
    assert client.hget(WORKERS_KEY, worker_broker.broker_id) is None
    worker_broker.close()
    client_broker.close()
