"""Worker processes register themselves; monitoring tells them from clients that only send."""

from __future__ import annotations

import os
import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from shared.middleware.registry import WORKERS_KEY, WorkerRegistry, describe_worker
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
        # And the worker processes alone are the registered one
        processes = Monitor(client).worker_processes()
        assert [entry["id"] for entry in processes] == [worker_broker.broker_id]
    finally:
        worker.stop()
    # And a worker that stops leaves the registry
    assert client.hget(WORKERS_KEY, worker_broker.broker_id) is None
    worker_broker.close()
    client_broker.close()


def test_what_a_worker_describes_is_listed_with_it_while_it_consumes_the_queue(
    redis_url: str,
) -> None:
    # Given a parsing worker that describes itself before it boots, and an ai worker
    brokers = {queue: RedisBroker(url=redis_url) for queue in ("parsing", "ai")}
    workers = []
    for queue, broker in brokers.items():
        broker.add_middleware(WorkerRegistry())
        broker.declare_queue(queue)
        workers.append(dramatiq.Worker(broker, queues={queue}, worker_timeout=20))
    describe_worker(brokers["parsing"], "fetch_guard", {"FETCH_ALLOW_PRIVATE": True})
    client = redis.Redis.from_url(redis_url)
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 10
        while any(
            client.zscore("dramatiq:__heartbeats__", b.broker_id) is None for b in brokers.values()
        ):
            assert time.monotonic() < deadline, "a worker never sent a heartbeat"
            time.sleep(0.05)

        # When monitoring lists the live workers of the parsing queue
        entries = Monitor(client).worker_entries("parsing")

        # Then only the parsing worker is listed, with what it described
        (entry,) = entries
        assert entry["id"] == brokers["parsing"].broker_id
        assert entry["fetch_guard"] == {"FETCH_ALLOW_PRIVATE": True}
        # And a worker whose heartbeat is older than the window is not
        later = Monitor(client, clock=lambda: time.time() + 120)
        assert later.worker_entries("parsing") == []
    finally:
        for worker in workers:
            worker.stop()
        for broker in brokers.values():
            broker.close()


def test_a_worker_registers_again_after_redis_lost_its_data(redis_url: str) -> None:
    # Given a running worker that writes its entry every 0.1 s
    broker = RedisBroker(url=redis_url)
    broker.add_middleware(WorkerRegistry(refresh_seconds=0.1))
    broker.declare_queue("parsing")
    worker = dramatiq.Worker(broker, queues={"parsing"}, worker_timeout=20, worker_threads=1)
    client = redis.Redis.from_url(redis_url)
    worker.start()
    try:
        assert client.hget(WORKERS_KEY, broker.broker_id) is not None
        # When Redis loses everything (a restart without persistence, a flush)
        client.flushdb()
        # Then the worker is a worker again within moments, with its heartbeat
        deadline = time.monotonic() + 10
        while Monitor(client).workers()["alive"] != 1:
            assert time.monotonic() < deadline, "the worker never came back in the registry"
            time.sleep(0.05)
        (entry,) = Monitor(client).worker_processes()
        assert entry["id"] == broker.broker_id
    finally:
        worker.stop()
    # And it still leaves the registry when it stops
    assert client.hget(WORKERS_KEY, broker.broker_id) is None
    broker.close()
