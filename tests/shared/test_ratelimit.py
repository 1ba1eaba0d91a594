"""The Redis token bucket shared by processes, on real Redis with a simulated clock."""

from __future__ import annotations

import pytest
import redis

from shared.errors import RateLimited
from shared.ratelimit import RateLimiter


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture()
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def _limiter(
    client: redis.Redis, time: FakeTime, rate: float = 3, capacity: float = 3
) -> RateLimiter:
    return RateLimiter(client, "test", rate, capacity, clock=time.clock, sleep=time.sleep)


def test_two_processes_sharing_a_bucket_never_exceed_its_rate(client: redis.Redis) -> None:
    time = FakeTime()
    first, second = _limiter(client, time), _limiter(client, time)
    start = time.now
    for _ in range(6):
        first.acquire()
        second.acquire()
    # 12 requests at 3/s with a burst of 3: the last one goes at 3 s.
    assert time.now - start == pytest.approx(3.0, abs=0.01)


def test_a_wait_past_the_deadline_raises_rate_limited_and_gives_the_slot_back(
    client: redis.Redis,
) -> None:
    time = FakeTime()
    limiter = _limiter(client, time, rate=1, capacity=1)
    limiter.acquire()
    with pytest.raises(RateLimited) as caught:
        limiter.acquire(deadline=time.now + 0.5)
    assert caught.value.retry_after == pytest.approx(1.0, abs=0.01)
    # The refused reservation was handed back: the next caller waits one interval only.
    assert limiter.acquire() == pytest.approx(1.0, abs=0.01)


def test_a_pause_holds_back_every_process_until_it_ends(client: redis.Redis) -> None:
    time = FakeTime()
    first, second = _limiter(client, time), _limiter(client, time)
    first.pause(2.5)
    assert second.paused_for() == pytest.approx(2.5)
    assert second.acquire() == pytest.approx(2.5, abs=0.01)
    assert first.paused_for() == 0.0


def test_costs_weigh_requests_such_as_tokens_per_minute(client: redis.Redis) -> None:
    time = FakeTime()
    limiter = RateLimiter(
        client, "tpm", rate=1000 / 60, capacity=1000, clock=time.clock, sleep=time.sleep
    )
    assert limiter.acquire(800) == 0
    waited = limiter.acquire(400)
    assert waited == pytest.approx(200 / (1000 / 60), abs=0.01)


def _calls(client: redis.Redis) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in client.info("commandstats").items()}


def test_an_acquire_is_one_redis_call_and_a_paused_one_past_its_deadline_takes_nothing(
    client: redis.Redis,
) -> None:
    time = FakeTime()
    limiter = _limiter(client, time, rate=1, capacity=1)
    limiter.acquire()  # loads the script
    before = _calls(client)
    limiter.acquire()
    after = _calls(client)
    spent = {name: after[name] - before.get(name, 0) for name in after}
    # One script call (its own HMGET/HSET/PEXPIRE run inside Redis); no separate pause read.
    assert (spent["cmdstat_evalsha"], spent.get("cmdstat_hget", 0)) == (1, 0)

    limiter.pause(5)
    with pytest.raises(RateLimited) as caught:
        limiter.acquire(deadline=time.now + 1)
    assert caught.value.retry_after == pytest.approx(5.0, abs=0.01)
    # Nothing was reserved: after the pause, the bucket holds what it held before it.
    time.sleep(5)
    assert limiter.acquire() == pytest.approx(0.0, abs=0.01)
