"""What the project relies on in Dramatiq's Redis broker that Dramatiq does not promise.

``shared.redis_broker`` subclasses Dramatiq's private ``_RedisConsumer`` and reads and
writes Dramatiq's Redis keys by name. These tests run Dramatiq's own broker on real Redis
and fail, naming what changed, when a Dramatiq release moves any of it.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from importlib.metadata import version
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers import redis as dramatiq_redis
from dramatiq.brokers.redis import RedisBroker

from shared.redis_broker import Keys, PromptConsumer, PromptRedisBroker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def broker(redis_url: str) -> PromptRedisBroker:
    """A broker under a namespace of its own, its keys removed afterwards."""
    broker = PromptRedisBroker(url=redis_url, namespace=f"contract-{uuid.uuid4().hex[:8]}")
    yield broker
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{broker.namespace}:*"):
        client.delete(key)
    broker.close()


def test_dramatiq_is_pinned_to_the_minor_version_the_broker_is_built_against() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    spec = next(d for d in project["project"]["dependencies"] if d.startswith("dramatiq["))
    bounds = re.search(r">=(\d+)\.(\d+)[.\d]*,<(\d+)\.(\d+)$", spec)
    assert bounds, f"{spec}: give Dramatiq a lower and an upper bound (>=X.Y.Z,<X.Y+1)"
    lower, upper = [int(n) for n in bounds.groups()[:2]], [int(n) for n in bounds.groups()[2:]]
    installed = [int(n) for n in version("dramatiq").split(".")[:2]]
    assert lower == installed, f"dramatiq {version('dramatiq')} installed, {spec} declared"
    assert upper == [lower[0], lower[1] + 1], f"{spec}: allow one minor version only"


def test_the_private_consumer_is_there_with_the_attributes_the_prompt_consumer_uses(
    broker: PromptRedisBroker,
) -> None:
    assert PromptConsumer.__mro__[1] is dramatiq_redis._RedisConsumer
    consumer = broker.consume("contract", prefetch=2, timeout=100)
    try:
        assert isinstance(consumer, PromptConsumer), "RedisBroker.consume ignores consumer_class"
        for name in (
            "message_cache",
            "outstanding_message_count",
            "prefetch",
            "queued_message_ids",
        ):
            assert hasattr(consumer, name), f"_RedisConsumer.{name} is gone"
        assert (consumer.queue_name, consumer.broker, consumer.prefetch) == ("contract", broker, 2)
        for name in ("namespace", "broker_id", "client"):
            assert hasattr(broker, name), f"RedisBroker.{name} is gone"
    finally:
        consumer.close()


def test_dramatiq_keeps_its_messages_under_the_keys_the_project_names(
    broker: PromptRedisBroker,
) -> None:
    keys = Keys(broker.namespace)
    client = broker.client

    @dramatiq.actor(broker=broker, queue_name="contract", max_retries=0)
    def contract_actor() -> None:
        """A message to look at, never run."""

    waiting = contract_actor.send()
    waiting_id = waiting.options["redis_message_id"]
    assert client.lrange(keys.queue("contract"), 0, -1) == [waiting_id.encode()]
    assert client.hexists(keys.messages("contract"), waiting_id)

    delayed = contract_actor.send_with_options(delay=60_000)
    assert client.hexists(keys.delayed("contract"), delayed.options["redis_message_id"])

    consumer = broker.consume("contract", prefetch=1, timeout=100)
    try:
        fetched = next(m for m in consumer if m is not None)
        assert fetched.message_id == waiting.message_id
        assert client.sismember(keys.acks(broker.broker_id, "contract"), waiting_id)
        assert keys.acks(broker.broker_id, "contract").startswith(keys.acks_prefix())
        assert client.zscore(keys.heartbeats(), broker.broker_id) is not None
        consumer.nack(fetched)
    finally:
        consumer.close()
    dead_ids, dead_messages = keys.dead("contract")
    assert client.zscore(dead_ids, waiting_id) is not None
    assert client.hexists(dead_messages, waiting_id)


def test_the_project_broker_is_dramatiqs_redis_broker() -> None:
    assert issubclass(PromptRedisBroker, RedisBroker)
